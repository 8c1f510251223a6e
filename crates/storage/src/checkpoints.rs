//! The status read model's checkpoints (`status_checkpoints`): one per tenant, its facts at a
//! version in paicha_domain's encoding, written and read whole.

use std::collections::HashSet;

use chrono::Utc;
use paicha_domain::collection::Collection;
use paicha_domain::ids::TenantId;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use uuid::Uuid;

use crate::records::{to_i64, to_u64};
use crate::{Store, StoreError, StoreResult};

/// A tenant's checkpoint as stored.
#[derive(Debug, Clone)]
pub struct StatusCheckpoint {
    /// Every change of the tenant up to this version is in it.
    pub version: u64,
    /// paicha_domain's encoding, its format in its own header.
    pub body: Vec<u8>,
}

impl Store {
    /// The tenant's checkpoint, if one was written.
    pub async fn status_checkpoint(
        &self,
        tenant_id: TenantId,
    ) -> StoreResult<Option<StatusCheckpoint>> {
        let select = Query::select()
            .columns(["version", "body"])
            .from("status_checkpoints")
            .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
            .to_owned();
        let Some(row) = self.db.query_one(&select).await? else {
            return Ok(None);
        };
        Ok(Some(StatusCheckpoint {
            version: to_u64(row.try_get("", "version")?),
            body: row.try_get("", "body")?,
        }))
    }

    /// Keeps `body` as the tenant's checkpoint at `version`, in place of the one there. One of
    /// a later version (another instance's) is replaced too: an older checkpoint only means a
    /// longer catch-up, and one the database has not reached (restored from an older backup)
    /// must go.
    pub async fn save_status_checkpoint(
        &self,
        tenant_id: TenantId,
        version: u64,
        body: Vec<u8>,
    ) -> StoreResult<()> {
        let upsert = Query::insert()
            .into_table("status_checkpoints")
            .columns(["tenant_id", "version", "written_at", "body"])
            .values([
                tenant_id.uuid().into(),
                to_i64(version).into(),
                Utc::now().into(),
                body.into(),
            ])
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .on_conflict(
                OnConflict::column("tenant_id")
                    .update_columns(["version", "written_at", "body"])
                    .to_owned(),
            )
            .to_owned();
        self.db.execute(&upsert).await?;
        Ok(())
    }

    /// The keys of every live record of the tenant: what a read model whose deletions may have
    /// been purged keeps of itself (`paicha_server::facts`). Ids only; for members, a read of
    /// the live members' index in the list's order (`idx_members_list_order`, partial on
    /// `NOT deleted`, which these words name).
    pub async fn live_record_keys(
        &self,
        tenant_id: TenantId,
    ) -> StoreResult<HashSet<(Collection, Uuid)>> {
        let mut keys = HashSet::new();
        for collection in Collection::ALL {
            let select = Query::select()
                .column("id")
                .from(collection.as_str())
                .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
                .and_where(Expr::cust("NOT deleted"))
                .to_owned();
            for row in self.db.query_all(&select).await? {
                keys.insert((collection, row.try_get::<Uuid>("", "id")?));
            }
        }
        Ok(keys)
    }
}
