//! The live records of some units, a page at a time in a stable order: what an export of a
//! register reads, so that it never holds more than a page of records (docs/protocol.md §12.2).

use paicha_domain::collection::Collection;
use paicha_domain::ids::UnitId;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SqliteQueryBuilder};
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value as SqlValue};
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
    /// (id, owning unit, fields), and the cursor after the last (none when the page is empty).
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
        let mut select = Query::select()
            .columns(["id", "org_unit_id", "created_at", "fields"])
            .from(collection.as_str())
            .cond_where(scope.holds_condition(collection))
            .and_where(Expr::col("deleted").eq(false))
            .and_where(Expr::col("org_unit_id").is_in(units.iter().map(|u| u.uuid())))
            .order_by("created_at", Order::Asc)
            .order_by("id", Order::Asc)
            .limit(limit)
            .to_owned();
        if let Some(after) = after {
            // A row comparison: both databases seek the index on (unit, created_at, id) to it.
            select.and_where(Expr::tuple([Expr::col("created_at"), Expr::col("id")]).gt(
                Expr::tuple([Expr::val(after.created_at.clone()), Expr::val(after.id)]),
            ));
        }
        let rows = if self.engine == Engine::Sqlite && collection == Collection::Members {
            // SQLite's planner, without statistics, may walk the tenant's index (every member
            // of the tenant, for each page; it did before members had an index in this order)
            // rather than the units': told which to use, a page reads its own rows only
            // (docs/benchmarks.md, issue #23 item 5).
            let (sql, values) = select.build(SqliteQueryBuilder);
            let sql = sql.replacen(
                "FROM \"members\"",
                "FROM \"members\" INDEXED BY \"idx_members_unit_order\"",
                1,
            );
            let statement = Statement::from_sql_and_values(DbBackend::Sqlite, sql, values);
            self.db.query_all_raw(statement).await?
        } else {
            self.db.query_all(&select).await?
        };
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
            records.push((
                id,
                UnitId::new(row.try_get("", "org_unit_id")?),
                object(row.try_get("", "fields")?),
            ));
        }
        Ok((records, cursor))
    }
}
