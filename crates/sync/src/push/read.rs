//! What the planner reads: the records, units and 公民身份号码 of a tenant, inside the push's
//! transaction (`SyncTxn`), or from memory in the planner's tests.

use std::future::Future;

use paicha_domain::collection::Collection;
use paicha_domain::ids::UnitId;
use paicha_storage::{ById, OrgUnitRecord, RecordRow, Scope, SyncTxn};
use uuid::Uuid;

use crate::SyncError;

/// The reads of a push. Every read is of the tenant whose write lock the push holds, so what
/// it answers cannot change under the push (except by the push itself, which the planner keeps
/// track of: `batch::Batch`).
pub trait Reader: Sync {
    /// The record of `id`, deleted or not: the tenant's own, or only the fact that another
    /// tenant holds the id (an id names one record across tenants).
    fn record(
        &self,
        collection: Collection,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<ById>, SyncError>> + Send;

    /// The records of `ids` that exist, each as [`Reader::record`] finds it, in any order.
    fn records(
        &self,
        collection: Collection,
        ids: &[Uuid],
    ) -> impl Future<Output = Result<Vec<ById>, SyncError>> + Send;

    /// The tenant's org unit of `id` (another tenant's is not found).
    fn org_unit(
        &self,
        id: UnitId,
    ) -> impl Future<Output = Result<Option<OrgUnitRecord>, SyncError>> + Send;

    /// The tenant's org units of `ids` that exist, in any order.
    fn org_units(
        &self,
        ids: &[UnitId],
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
    async fn record(&self, collection: Collection, id: Uuid) -> Result<Option<ById>, SyncError> {
        Ok(SyncTxn::record(self, collection, id).await?)
    }

    async fn records(&self, collection: Collection, ids: &[Uuid]) -> Result<Vec<ById>, SyncError> {
        Ok(SyncTxn::records(self, collection, ids).await?)
    }

    async fn org_unit(&self, id: UnitId) -> Result<Option<OrgUnitRecord>, SyncError> {
        Ok(SyncTxn::org_unit(self, id).await?)
    }

    async fn org_units(&self, ids: &[UnitId]) -> Result<Vec<OrgUnitRecord>, SyncError> {
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
#[derive(Debug, Clone)]
pub struct Memory {
    pub tenant_id: paicha_domain::ids::TenantId,
    pub units: Vec<OrgUnitRecord>,
    pub records: Vec<RecordRow>,
}

#[cfg(test)]
impl Memory {
    /// A record as a transaction of this tenant finds it (`SyncTxn::record`).
    fn by_id(&self, row: &RecordRow) -> ById {
        if row.tenant_id == self.tenant_id {
            ById::Own(row.clone())
        } else {
            ById::HeldElsewhere(row.id)
        }
    }
}

#[cfg(test)]
impl Reader for Memory {
    async fn record(&self, collection: Collection, id: Uuid) -> Result<Option<ById>, SyncError> {
        Ok(self
            .records
            .iter()
            .find(|r| r.collection == collection && r.id == id)
            .map(|r| self.by_id(r)))
    }

    async fn records(&self, collection: Collection, ids: &[Uuid]) -> Result<Vec<ById>, SyncError> {
        Ok(self
            .records
            .iter()
            .filter(|r| r.collection == collection && ids.contains(&r.id))
            .map(|r| self.by_id(r))
            .collect())
    }

    async fn org_unit(&self, id: UnitId) -> Result<Option<OrgUnitRecord>, SyncError> {
        Ok(self
            .units
            .iter()
            .find(|u| u.id == id && u.tenant_id == self.tenant_id)
            .cloned())
    }

    async fn org_units(&self, ids: &[UnitId]) -> Result<Vec<OrgUnitRecord>, SyncError> {
        Ok(self
            .units
            .iter()
            .filter(|u| ids.contains(&u.id) && u.tenant_id == self.tenant_id)
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
