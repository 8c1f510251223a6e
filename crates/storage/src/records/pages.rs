//! The live records of some units, a page at a time in a stable order: what an export of a
//! register reads, so that it never holds more than a page of records (docs/protocol.md §12.2).

use paicha_domain::collection::Collection;
use paicha_domain::ids::UnitId;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, Value as SqlValue};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{Scope, object};
use crate::{Engine, Store, StoreResult};

/// Where the next page of [`Store::live_records_page`] starts: after the record of this
/// `created_at` (as the database holds it, so comparing with it orders as `ORDER BY` does) and
/// id.
#[derive(Debug, Clone)]
pub struct PageCursor {
    created_at: SqlValue,
    id: Uuid,
}

impl Store {
    /// At most `limit` live records of `collection` in `scope` that one of `units` holds, after
    /// `after`, in the order of [`Store::live_records`] (oldest first, then by id): each as
    /// (id, owning unit, fields), and where the next page starts: none when this one was the
    /// last (fewer than `limit` read). A record the scope does not hold (of a unit outside it)
    /// is read but not answered.
    ///
    /// Paging on (`created_at`, `id`), for members along their index on (unit, `created_at`,
    /// `id`), keeps each query to one page, wherever the page.
    pub async fn live_records_page(
        &self,
        scope: Scope<'_>,
        collection: Collection,
        units: &[UnitId],
        after: Option<&PageCursor>,
        limit: u64,
    ) -> StoreResult<(Vec<(Uuid, UnitId, Map<String, Value>)>, Option<PageCursor>)> {
        // Only the units and the order in SQL, so that the one index that fits, on (unit,
        // created_at, id) for members, is the one either database can use: with the scope's
        // condition beside them, a planner without statistics walked the tenant's index (every
        // member of the tenant, for each page) and sorted (docs/benchmarks.md, issue #23
        // item 5). The units are the scope's; each row is checked against the scope below.
        let mut select = Query::select()
            .columns([
                "id",
                "tenant_id",
                "org_unit_id",
                "owner_path",
                "addressee_path",
                "created_at",
                "fields",
            ])
            .from(collection.as_str())
            .and_where(Expr::col("org_unit_id").is_in(units.iter().map(|u| u.uuid())))
            .and_where(Expr::col("deleted").eq(false))
            .order_by("created_at", Order::Asc)
            .order_by("id", Order::Asc)
            .limit(limit)
            .to_owned();
        if let Some(after) = after {
            // A row comparison: both databases seek the index to it.
            select.and_where(Expr::tuple([Expr::col("created_at"), Expr::col("id")]).gt(
                Expr::tuple([Expr::val(after.created_at.clone()), Expr::val(after.id)]),
            ));
        }
        let rows = self.db.query_all(&select).await?;
        let mut cursor = None;
        let mut records = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: Uuid = row.try_get("", "id")?;
            // SQLite keeps the time as text: read and compared as that text, never re-encoded.
            let created_at = match self.engine {
                Engine::Sqlite => SqlValue::from(row.try_get::<String>("", "created_at")?),
                Engine::Postgres => {
                    SqlValue::from(row.try_get::<chrono::DateTime<chrono::Utc>>("", "created_at")?)
                }
            };
            cursor = Some(PageCursor { created_at, id });
            let owner_path: String = row.try_get("", "owner_path")?;
            let addressee_path: Option<String> = row.try_get("", "addressee_path")?;
            let place = super::Place {
                collection,
                tenant_id: paicha_domain::ids::TenantId::new(row.try_get("", "tenant_id")?),
                owner_path: &owner_path,
                addressee_path: addressee_path.as_deref(),
            };
            if !scope.holds(place) {
                continue;
            }
            records.push((
                id,
                UnitId::new(row.try_get("", "org_unit_id")?),
                object(row.try_get("", "fields")?),
            ));
        }
        let more = u64::try_from(rows.len()).is_ok_and(|n| n >= limit);
        Ok((records, cursor.filter(|_| more)))
    }
}
