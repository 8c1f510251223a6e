//! Users: one role, bound to one org unit (none for `system_admin`).

use chrono::{DateTime, Utc};
use paicha_domain::ids::{TenantId, UnitId};
use paicha_domain::role::Role;
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::entities::{org_unit, user};
use crate::{OrgUnitRecord, Store, StoreError, StoreResult};

#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: Uuid,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub tenant_id: Option<TenantId>,
    pub org_unit_id: Option<UnitId>,
    pub display_name: Option<String>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    /// Must set a new password before anything else (the bootstrap administrator).
    pub must_change_password: bool,
}

/// Debug without the password hash, so a record can be logged.
impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("org_unit_id", &self.org_unit_id)
            .finish_non_exhaustive()
    }
}

pub struct NewUser {
    pub id: Uuid,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub unit: Option<OrgUnitRecord>,
    pub display_name: Option<String>,
    pub now: DateTime<Utc>,
    /// Asked to set a new password at the first sign-in.
    pub must_change_password: bool,
}

fn to_record(m: user::Model) -> StoreResult<UserRecord> {
    let role = Role::parse(&m.role)
        .ok_or_else(|| StoreError::Corrupt(format!("user {} has role {:?}", m.id, m.role)))?;
    Ok(UserRecord {
        id: m.id,
        username: m.username,
        password_hash: m.password_hash,
        role,
        tenant_id: m.tenant_id.map(TenantId::new),
        org_unit_id: m.org_unit_id.map(UnitId::new),
        display_name: m.display_name,
        disabled: m.disabled,
        created_at: m.created_at,
        must_change_password: m.must_change_password,
    })
}

impl Store {
    /// Inserts a user; a taken username is `StoreError::Duplicate`, a unit deleted meanwhile
    /// `StoreError::Reference`.
    pub async fn insert_user(&self, new: NewUser) -> StoreResult<UserRecord> {
        insert_user_on(&self.db, new).await
    }

    pub async fn user_by_username(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        user::Entity::find()
            .filter(user::Column::Username.eq(username))
            .one(&self.db)
            .await?
            .map(to_record)
            .transpose()
    }

    pub async fn user(&self, id: Uuid) -> StoreResult<Option<UserRecord>> {
        user_on(&self.db, id).await
    }

    pub async fn count_users(&self) -> StoreResult<u64> {
        Ok(user::Entity::find().count(&self.db).await?)
    }

    /// Users bound to `root` or any unit below it.
    pub async fn users_in_subtree(&self, root: &OrgUnitRecord) -> StoreResult<Vec<UserRecord>> {
        let subtree = Query::select()
            .column(org_unit::Column::Id)
            .from(org_unit::Entity)
            .and_where(org_unit::Column::TenantId.eq(root.tenant_id.uuid()))
            .and_where(root.scope().covers_column("path"))
            .to_owned();
        user::Entity::find()
            .filter(user::Column::TenantId.eq(root.tenant_id.uuid()))
            .filter(user::Column::OrgUnitId.in_subquery(subtree))
            .order_by_asc(user::Column::Username)
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_record)
            .collect()
    }

    /// The users the platform administrator manages: other system admins and the admins sitting
    /// at tenant roots.
    pub async fn platform_users(&self) -> StoreResult<Vec<UserRecord>> {
        let roots = Query::select()
            .column(org_unit::Column::Id)
            .from(org_unit::Entity)
            .and_where(org_unit::Column::ParentId.is_null())
            .to_owned();
        user::Entity::find()
            .filter(
                user::Column::Role
                    .eq(Role::SystemAdmin.as_str())
                    .or(user::Column::Role
                        .eq(Role::CommitteeAdmin.as_str())
                        .and(user::Column::OrgUnitId.in_subquery(roots))),
            )
            .order_by_asc(user::Column::Username)
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_record)
            .collect()
    }
}

/// [`Store::insert_user`] on a connection or a transaction.
pub(crate) async fn insert_user_on<C: ConnectionTrait>(
    db: &C,
    new: NewUser,
) -> StoreResult<UserRecord> {
    let model = user::ActiveModel {
        id: Set(new.id),
        username: Set(new.username),
        password_hash: Set(new.password_hash),
        role: Set(new.role.as_str().to_owned()),
        tenant_id: Set(new.unit.as_ref().map(|u| u.tenant_id.uuid())),
        org_unit_id: Set(new.unit.as_ref().map(|u| u.id.uuid())),
        display_name: Set(new.display_name),
        disabled: Set(false),
        created_at: Set(new.now),
        must_change_password: Set(new.must_change_password),
    };
    to_record(user::Entity::insert(model).exec_with_returning(db).await?)
}

/// [`Store::user`] on a connection or a transaction.
pub(crate) async fn user_on<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
) -> StoreResult<Option<UserRecord>> {
    user::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(to_record)
        .transpose()
}
