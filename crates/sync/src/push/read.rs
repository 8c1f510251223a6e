//! What the planner reads: the records, units and 公民身份号码 of a tenant, inside the push's
//! transaction (`SyncTxn`), or from memory in the planner's tests.

use std::future::Future;

use paicha_domain::collection::Collection;
use paicha_storage::{OrgUnitRecord, RecordRow, Scope, SyncTxn};
use uuid::Uuid;

use crate::SyncError;

/// The reads of a push. Every read is of the tenant whose write lock the push holds, so what
/// it answers cannot change under the push (except by the push itself, which the planner keeps
/// track of: `batch::Batch`).
pub trait Reader: Sync {
    /// A record, deleted or not, of any tenant (an id names one record across tenants).
    fn record(
        &self,
        collection: Collection,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<RecordRow>, SyncError>> + Send;

    /// The records of `ids` that exist, in any order.
    fn records(
        &self,
        collection: Collection,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<Vec<RecordRow>, SyncError>> + Send;

    /// An org unit, of any tenant.
    fn org_unit(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<OrgUnitRecord>, SyncError>> + Send;

    /// The org units of `ids` that exist, in any order.
    fn org_units(
        &self,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<Vec<OrgUnitRecord>, SyncError>> + Send;

    /// The live records of `collection` that `scope` sees.
    fn live_rows(
        &self,
        scope: Scope<'_>,
        collection: Collection,
    ) -> impl Future<Output = Result<Vec<RecordRow>, SyncError>> + Send;

    /// The tenant's live records of `collection` whose field `field` names record `id`.
    fn live_rows_referring(
        &self,
        collection: Collection,
        field: &'static str,
        id: Uuid,
    ) -> impl Future<Output = Result<Vec<RecordRow>, SyncError>> + Send;

    /// The tenant's live members holding these 公民身份号码: (member, number).
    fn live_members_with_id_numbers(
        &self,
        numbers: &[String],
    ) -> impl Future<Output = Result<Vec<(Uuid, String)>, SyncError>> + Send;
}

impl Reader for SyncTxn {
    async fn record(
        &self,
        collection: Collection,
        id: Uuid,
    ) -> Result<Option<RecordRow>, SyncError> {
        Ok(SyncTxn::record(self, collection, id).await?)
    }

    async fn records(
        &self,
        collection: Collection,
        ids: &[Uuid],
    ) -> Result<Vec<RecordRow>, SyncError> {
        Ok(SyncTxn::records(self, collection, ids).await?)
    }

    async fn org_unit(&self, id: Uuid) -> Result<Option<OrgUnitRecord>, SyncError> {
        Ok(SyncTxn::org_unit(self, id).await?)
    }

    async fn org_units(&self, ids: &[Uuid]) -> Result<Vec<OrgUnitRecord>, SyncError> {
        Ok(SyncTxn::org_units(self, ids).await?)
    }

    async fn live_rows(
        &self,
        scope: Scope<'_>,
        collection: Collection,
    ) -> Result<Vec<RecordRow>, SyncError> {
        Ok(SyncTxn::live_rows(self, scope, collection).await?)
    }

    async fn live_rows_referring(
        &self,
        collection: Collection,
        field: &'static str,
        id: Uuid,
    ) -> Result<Vec<RecordRow>, SyncError> {
        Ok(SyncTxn::live_rows_referring(self, collection, field, id).await?)
    }

    async fn live_members_with_id_numbers(
        &self,
        numbers: &[String],
    ) -> Result<Vec<(Uuid, String)>, SyncError> {
        Ok(SyncTxn::live_members_with_id_numbers(self, numbers).await?)
    }
}

/// A tenant's records and units in memory, for the planner's tests: what a database would
/// answer, without one.
#[cfg(test)]
#[derive(Debug, Default, Clone)]
pub struct Memory {
    pub tenant_id: Uuid,
    pub units: Vec<OrgUnitRecord>,
    pub records: Vec<RecordRow>,
}

#[cfg(test)]
impl Reader for Memory {
    async fn record(
        &self,
        collection: Collection,
        id: Uuid,
    ) -> Result<Option<RecordRow>, SyncError> {
        Ok(self
            .records
            .iter()
            .find(|r| r.collection == collection && r.id == id)
            .cloned())
    }

    async fn records(
        &self,
        collection: Collection,
        ids: &[Uuid],
    ) -> Result<Vec<RecordRow>, SyncError> {
        Ok(self
            .records
            .iter()
            .filter(|r| r.collection == collection && ids.contains(&r.id))
            .cloned()
            .collect())
    }

    async fn org_unit(&self, id: Uuid) -> Result<Option<OrgUnitRecord>, SyncError> {
        Ok(self.units.iter().find(|u| u.id == id).cloned())
    }

    async fn org_units(&self, ids: &[Uuid]) -> Result<Vec<OrgUnitRecord>, SyncError> {
        Ok(self
            .units
            .iter()
            .filter(|u| ids.contains(&u.id))
            .cloned()
            .collect())
    }

    async fn live_rows(
        &self,
        scope: Scope<'_>,
        collection: Collection,
    ) -> Result<Vec<RecordRow>, SyncError> {
        Ok(self
            .records
            .iter()
            .filter(|r| r.collection == collection && !r.deleted && scope.sees(r.place()))
            .cloned()
            .collect())
    }

    async fn live_rows_referring(
        &self,
        collection: Collection,
        field: &'static str,
        id: Uuid,
    ) -> Result<Vec<RecordRow>, SyncError> {
        let id = id.to_string();
        Ok(self
            .records
            .iter()
            .filter(|r| {
                r.collection == collection
                    && !r.deleted
                    && r.tenant_id == self.tenant_id
                    && r.fields.get(field).and_then(|v| v.as_str()) == Some(id.as_str())
            })
            .cloned()
            .collect())
    }

    async fn live_members_with_id_numbers(
        &self,
        numbers: &[String],
    ) -> Result<Vec<(Uuid, String)>, SyncError> {
        Ok(self
            .records
            .iter()
            .filter(|r| {
                r.collection == Collection::Members && !r.deleted && r.tenant_id == self.tenant_id
            })
            .filter_map(|r| {
                let number = r.fields.get("id_number")?.as_str()?;
                numbers
                    .iter()
                    .any(|n| n == number)
                    .then(|| (r.id, number.to_owned()))
            })
            .collect())
    }
}
