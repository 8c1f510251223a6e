//! The org tree. A unit's `path` is "/<root id>/…/<own id>/", so a subtree is a prefix match
//! and an ancestor check is a string test.

use chrono::{DateTime, Utc};
use paicha_domain::ids::{TenantId, UnitId};
use paicha_domain::org::OrgUnitKind;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder,
};

use crate::entities::{org_unit, user};
use crate::{Store, StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgUnitRecord {
    pub id: UnitId,
    pub tenant_id: TenantId,
    pub parent_id: Option<UnitId>,
    pub kind: OrgUnitKind,
    pub name: String,
    pub code: Option<String>,
    pub path: String,
    pub created_at: DateTime<Utc>,
}

impl OrgUnitRecord {
    /// Whether `other` is this unit or lies below it.
    pub fn contains(&self, other: &OrgUnitRecord) -> bool {
        self.scope().covers(&other.path)
    }

    /// The scope of a caller bound to this unit (the one scope rule, [`crate::Scope`]).
    pub fn scope(&self) -> crate::Scope<'_> {
        crate::Scope::new(self.tenant_id, &self.path)
    }
}

pub struct NewOrgUnit<'a> {
    pub id: UnitId,
    /// `None` creates a tenant root.
    pub parent: Option<&'a OrgUnitRecord>,
    pub kind: OrgUnitKind,
    pub name: String,
    pub code: Option<String>,
    pub now: DateTime<Utc>,
}

pub(crate) fn to_record(m: org_unit::Model) -> StoreResult<OrgUnitRecord> {
    let kind = OrgUnitKind::parse(&m.kind)
        .ok_or_else(|| StoreError::Corrupt(format!("org unit {} has kind {:?}", m.id, m.kind)))?;
    Ok(OrgUnitRecord {
        id: UnitId::new(m.id),
        tenant_id: TenantId::new(m.tenant_id),
        parent_id: m.parent_id.map(UnitId::new),
        kind,
        name: m.name,
        code: m.code,
        path: m.path,
        created_at: m.created_at,
    })
}

impl Store {
    pub async fn insert_org_unit(&self, new: NewOrgUnit<'_>) -> StoreResult<OrgUnitRecord> {
        let (tenant_id, path) = match new.parent {
            Some(parent) => (parent.tenant_id, format!("{}{}/", parent.path, new.id)),
            None => (new.id.as_root_of_tenant(), format!("/{}/", new.id)),
        };
        let model = org_unit::ActiveModel {
            id: Set(new.id.uuid()),
            tenant_id: Set(tenant_id.uuid()),
            parent_id: Set(new.parent.map(|p| p.id.uuid())),
            kind: Set(new.kind.as_str().to_owned()),
            name: Set(new.name),
            code: Set(new.code),
            path: Set(path),
            created_at: Set(new.now),
        };
        let inserted = org_unit::Entity::insert(model)
            .exec_with_returning(&self.db)
            .await?;
        to_record(inserted)
    }

    /// Renames a unit and/or changes its code (`Some(None)` clears the code).
    pub async fn update_org_unit(
        &self,
        id: UnitId,
        name: Option<String>,
        code: Option<Option<String>>,
    ) -> StoreResult<Option<OrgUnitRecord>> {
        let Some(found) = org_unit::Entity::find_by_id(id.uuid())
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let mut model: org_unit::ActiveModel = found.into();
        if let Some(name) = name {
            model.name = Set(name);
        }
        if let Some(code) = code {
            model.code = Set(code);
        }
        let updated = model.update(&self.db).await?;
        to_record(updated).map(Some)
    }

    /// Looks a unit up by id, in any tenant: callers apply the policy to what they get.
    pub async fn org_unit(&self, id: UnitId) -> StoreResult<Option<OrgUnitRecord>> {
        org_unit::Entity::find_by_id(id.uuid())
            .one(&self.db)
            .await?
            .map(to_record)
            .transpose()
    }

    /// The unit at `root` and everything below it, ordered by path (parents before children).
    pub async fn org_subtree(&self, root: &OrgUnitRecord) -> StoreResult<Vec<OrgUnitRecord>> {
        org_unit::Entity::find()
            .filter(org_unit::Column::TenantId.eq(root.tenant_id.uuid()))
            .filter(root.scope().covers_column("path"))
            .order_by_asc(org_unit::Column::Path)
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_record)
            .collect()
    }

    /// Every tenant root (committee), for the platform administrator.
    pub async fn tenant_roots(&self) -> StoreResult<Vec<OrgUnitRecord>> {
        org_unit::Entity::find()
            .filter(org_unit::Column::ParentId.is_null())
            .order_by_asc(org_unit::Column::CreatedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_record)
            .collect()
    }

    pub async fn count_child_units(&self, id: UnitId) -> StoreResult<u64> {
        Ok(org_unit::Entity::find()
            .filter(org_unit::Column::ParentId.eq(id.uuid()))
            .count(&self.db)
            .await?)
    }

    pub async fn count_users_of_unit(&self, id: UnitId) -> StoreResult<u64> {
        Ok(user::Entity::find()
            .filter(user::Column::OrgUnitId.eq(id.uuid()))
            .count(&self.db)
            .await?)
    }

    /// Deletes a unit that has no children and no users. The caller checks those first to give
    /// a precise error; the foreign keys refuse the delete anyway if one appeared meanwhile.
    pub async fn delete_org_unit(&self, id: UnitId) -> StoreResult<()> {
        let result = org_unit::Entity::delete_by_id(id.uuid())
            .exec(&self.db)
            .await?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }
}
