//! Signed reports (报表, docs/domain.md §8.14): kept as they were signed, never changed; and the
//! audit entries a report's "changes since" lists.

use chrono::{DateTime, NaiveDate, Utc};
use paicha_domain::ids::{TenantId, UnitId};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use uuid::Uuid;

use crate::records::{CHANGE_COLUMNS, decode_change, to_i64, to_u64};
use crate::{ChangeEntry, Scope, Store, StoreError, StoreResult};

/// A signed report as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRecord {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub org_unit_id: UnitId,
    pub unit_path: String,
    pub unit_name: String,
    pub as_of: NaiveDate,
    pub signed_by: Uuid,
    pub signed_by_name: String,
    pub signed_at: DateTime<Utc>,
    /// The status as signed: JSON text, kept byte for byte.
    pub content: String,
    pub content_sha256: String,
    /// The tenant's audit chain at signing: the last version the content counts, and its hash.
    pub chain_version: u64,
    pub chain_head: String,
}

const COLUMNS: [&str; 13] = [
    "id",
    "tenant_id",
    "org_unit_id",
    "unit_path",
    "unit_name",
    "as_of",
    "signed_by",
    "signed_by_name",
    "signed_at",
    "content",
    "content_sha256",
    "chain_version",
    "chain_head",
];

fn decode(row: &sea_orm::QueryResult) -> StoreResult<ReportRecord> {
    Ok(ReportRecord {
        id: row.try_get("", "id")?,
        tenant_id: TenantId::new(row.try_get("", "tenant_id")?),
        org_unit_id: UnitId::new(row.try_get("", "org_unit_id")?),
        unit_path: row.try_get("", "unit_path")?,
        unit_name: row.try_get("", "unit_name")?,
        as_of: row.try_get("", "as_of")?,
        signed_by: row.try_get("", "signed_by")?,
        signed_by_name: row.try_get("", "signed_by_name")?,
        signed_at: row.try_get("", "signed_at")?,
        content: row.try_get("", "content")?,
        content_sha256: row.try_get("", "content_sha256")?,
        chain_version: to_u64(row.try_get("", "chain_version")?),
        chain_head: row.try_get("", "chain_head")?,
    })
}

impl Store {
    /// Keeps a signed report. Reports are only ever inserted.
    pub async fn insert_report(&self, r: &ReportRecord) -> StoreResult<()> {
        let insert = Query::insert()
            .into_table("reports")
            .columns(COLUMNS)
            .values([
                r.id.into(),
                r.tenant_id.uuid().into(),
                r.org_unit_id.uuid().into(),
                r.unit_path.clone().into(),
                r.unit_name.clone().into(),
                r.as_of.into(),
                r.signed_by.into(),
                r.signed_by_name.clone().into(),
                r.signed_at.into(),
                r.content.clone().into(),
                r.content_sha256.clone().into(),
                to_i64(r.chain_version).into(),
                r.chain_head.clone().into(),
            ])
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .to_owned();
        self.db.execute(&insert).await?;
        Ok(())
    }

    /// The reports of a tenant on units at or below the unit of `scope`, newest first.
    pub async fn reports_under(&self, scope: Scope<'_>) -> StoreResult<Vec<ReportRecord>> {
        let select = Query::select()
            .columns(COLUMNS)
            .from("reports")
            .and_where(Expr::col("tenant_id").eq(scope.tenant_id().uuid()))
            .and_where(scope.covers_column("unit_path"))
            .order_by("signed_at", Order::Desc)
            .order_by("id", Order::Desc)
            .to_owned();
        self.db
            .query_all(&select)
            .await?
            .iter()
            .map(decode)
            .collect()
    }

    /// One report of a tenant.
    pub async fn report(&self, tenant_id: TenantId, id: Uuid) -> StoreResult<Option<ReportRecord>> {
        let select = Query::select()
            .columns(COLUMNS)
            .from("reports")
            .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        self.db
            .query_one(&select)
            .await?
            .as_ref()
            .map(decode)
            .transpose()
    }

    /// Every report of every tenant, oldest first: what `paicha audit verify` checks.
    pub async fn all_reports(&self) -> StoreResult<Vec<ReportRecord>> {
        let select = Query::select()
            .columns(COLUMNS)
            .from("reports")
            .order_by("signed_at", Order::Asc)
            .order_by("id", Order::Asc)
            .to_owned();
        self.db
            .query_all(&select)
            .await?
            .iter()
            .map(decode)
            .collect()
    }

    /// The audit entry of a tenant at `version`, if there is one.
    pub async fn change_entry(
        &self,
        tenant_id: TenantId,
        version: u64,
    ) -> StoreResult<Option<ChangeEntry>> {
        let select = Query::select()
            .columns(CHANGE_COLUMNS)
            .from("change_log")
            .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
            .and_where(Expr::col("version").eq(to_i64(version)))
            .to_owned();
        self.db
            .query_one(&select)
            .await?
            .as_ref()
            .map(decode_change)
            .transpose()
    }

    /// A tenant's audit entries after `after` on records at or below the unit of `scope`, in
    /// chain order, at most `limit`.
    pub async fn changes_under(
        &self,
        scope: Scope<'_>,
        after: u64,
        limit: u64,
    ) -> StoreResult<Vec<ChangeEntry>> {
        self.change_entries(scope.tenant_id(), Some(scope), after, limit)
            .await
    }
}
