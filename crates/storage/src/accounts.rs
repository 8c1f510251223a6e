//! Account lifecycle: the session check of every request, changing a user, revoking its
//! sessions, its devices, and the account log.

use std::time::Duration;

use chrono::{DateTime, Utc};
use paicha_domain::role::Role;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, TransactionTrait,
};
use uuid::Uuid;

use crate::auth_tables::NewRefreshToken;
use crate::entities::{org_unit, refresh_token, user};
use crate::{OrgUnitRecord, RefreshTokenRecord, Store, StoreError, StoreResult, UserRecord};

/// What the bearer-token check needs to know about the caller, read in one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStatus {
    pub disabled: bool,
    pub role: Role,
    pub org_unit_id: Option<Uuid>,
    pub tenant_id: Option<Uuid>,
    /// Whether the sign-in (refresh-token family) still has a token that is not revoked.
    pub session_alive: bool,
    /// The user must set a new password before anything else.
    pub must_change_password: bool,
}

/// A change to a user; `None` leaves a value as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub role: Option<Role>,
    /// The new unit (`Some(None)`: none, for a system admin).
    pub unit: Option<Option<OrgUnitRecord>>,
    pub display_name: Option<Option<String>>,
    pub disabled: Option<bool>,
}

/// A device that synced: its last pull position and when it was last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncDeviceRecord {
    pub device_id: String,
    pub last_seen_at: DateTime<Utc>,
    pub last_cursor: u64,
}

/// One entry of the account log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountLogEntry {
    pub id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub user_id: Uuid,
    pub username: String,
    pub actor_id: Uuid,
    pub actor_username: String,
    pub action: String,
    /// JSON text; never a password.
    pub detail: String,
    pub at: DateTime<Utc>,
}

/// The columns of `org_units` (its model's fields).
const UNIT_COLUMNS: [&str; 8] = [
    "id",
    "tenant_id",
    "parent_id",
    "kind",
    "name",
    "code",
    "path",
    "created_at",
];

const LOG: &str = "account_log";
const LOG_COLUMNS: [&str; 9] = [
    "id",
    "tenant_id",
    "user_id",
    "username",
    "actor_id",
    "actor_username",
    "action",
    "detail",
    "at",
];

impl Store {
    /// What the bearer-token check of a request needs, in one query: the caller's account,
    /// whether its sign-in `session_id` is still alive (the user by primary key, the family by
    /// its index), and the user's unit (by primary key; `None` for a platform administrator).
    /// `None`: no such user.
    pub async fn session_and_unit(
        &self,
        user_id: Uuid,
        session_id: Uuid,
    ) -> StoreResult<Option<(SessionStatus, Option<OrgUnitRecord>)>> {
        let alive = Query::select()
            .expr(Expr::val(1))
            .from("refresh_tokens")
            .and_where(Expr::col(("refresh_tokens", "family_id")).eq(session_id))
            .and_where(Expr::col(("refresh_tokens", "user_id")).eq(user_id))
            .and_where(Expr::col(("refresh_tokens", "revoked_at")).is_null())
            .to_owned();
        let mut select = Query::select()
            .columns(
                [
                    "disabled",
                    "role",
                    "org_unit_id",
                    "tenant_id",
                    "must_change_password",
                ]
                .map(|c| (Alias::new("users"), c)),
            )
            .expr_as(
                Expr::case(Expr::exists(alive), Expr::val(1)).finally(Expr::val(0)),
                Alias::new("alive"),
            )
            .from("users")
            .and_where(Expr::col(("users", "id")).eq(user_id))
            .to_owned();
        // The unit's columns, prefixed `unit_`.
        for column in UNIT_COLUMNS {
            select.expr_as(
                Expr::col(("org_units", column)),
                Alias::new(format!("unit_{column}")),
            );
        }
        select.left_join(
            "org_units",
            Expr::col(("org_units", "id")).equals(("users", "org_unit_id")),
        );
        // Every request reads its session first, so many requests arriving at once (ten
        // thousand long-polls reconnecting) each made a query here and waited in it for one
        // of the pool's few connections, holding the query's state (about 30 KiB) meanwhile:
        // 59 MB at the peak for 2,000 long-polls, kept by the allocator long after (heap
        // profile, docs/benchmarks.md, results of 2026-11-29, commit 206aacc). They now wait for a turn first, holding
        // next to nothing; a request that waited 10 s goes on without one, to the pool's
        // own queue and time-out as before.
        let permit =
            tokio::time::timeout(Duration::from_secs(10), self.session_reads.acquire()).await;
        let row = self.db.query_one(&select).await?;
        drop(permit);
        let Some(row) = row else {
            return Ok(None);
        };
        let role: String = row.try_get("", "role")?;
        let role = Role::parse(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("user {user_id} has role {role:?}")))?;
        let alive: i32 = row.try_get("", "alive")?;
        let status = SessionStatus {
            disabled: row.try_get("", "disabled")?,
            role,
            org_unit_id: row.try_get("", "org_unit_id")?,
            tenant_id: row.try_get("", "tenant_id")?,
            session_alive: alive == 1,
            must_change_password: row.try_get("", "must_change_password")?,
        };
        let unit_id: Option<Uuid> = row.try_get("", "unit_id")?;
        let unit = match unit_id {
            Some(id) => Some(crate::org_units::to_record(org_unit::Model {
                id,
                tenant_id: row.try_get("", "unit_tenant_id")?,
                parent_id: row.try_get("", "unit_parent_id")?,
                kind: row.try_get("", "unit_kind")?,
                name: row.try_get("", "unit_name")?,
                code: row.try_get("", "unit_code")?,
                path: row.try_get("", "unit_path")?,
                created_at: row.try_get("", "unit_created_at")?,
            })?),
            None => None,
        };
        Ok(Some((status, unit)))
    }

    /// Applies `change` to a user and returns it as it is now. A unit deleted meanwhile is
    /// `StoreError::Reference`.
    pub async fn update_user(&self, id: Uuid, change: UserChange) -> StoreResult<UserRecord> {
        let mut model = user::ActiveModel {
            id: sea_orm::ActiveValue::Unchanged(id),
            ..Default::default()
        };
        if let Some(role) = change.role {
            model.role = Set(role.as_str().to_owned());
        }
        if let Some(unit) = change.unit {
            model.tenant_id = Set(unit.as_ref().map(|u| u.tenant_id));
            model.org_unit_id = Set(unit.as_ref().map(|u| u.id));
        }
        if let Some(name) = change.display_name {
            model.display_name = Set(name);
        }
        if let Some(disabled) = change.disabled {
            model.disabled = Set(disabled);
        }
        if model.is_changed() {
            user::Entity::update(model).exec(&self.db).await?;
        }
        self.user(id).await?.ok_or(StoreError::NotFound)
    }

    /// Sets a user's password hash; a password set anew also satisfies a required change.
    pub async fn set_password_hash(&self, id: Uuid, password_hash: String) -> StoreResult<()> {
        let result = user::Entity::update_many()
            .col_expr(user::Column::PasswordHash, Expr::value(password_hash))
            .col_expr(user::Column::MustChangePassword, Expr::value(false))
            .filter(user::Column::Id.eq(id))
            .exec(&self.db)
            .await?;
        if result.rows_affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Rotates a refresh token: marks the live token `old` as used and stores its successor, in
    /// one transaction, so whoever sees the token used also finds its successor. Returns false
    /// (and stores nothing) when `old` was already used or revoked.
    pub async fn rotate_refresh_token(
        &self,
        old: Uuid,
        now: DateTime<Utc>,
        successor: NewRefreshToken,
    ) -> StoreResult<bool> {
        let txn = self.db.begin().await?;
        let result = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
            .filter(refresh_token::Column::Id.eq(old))
            .filter(refresh_token::Column::UsedAt.is_null())
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        if result.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        refresh_token::Entity::insert(crate::auth_tables::token_model(successor))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Revokes every sign-in of a user except `keep` (the caller's own).
    pub async fn revoke_other_sessions(
        &self,
        user_id: Uuid,
        keep: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut update = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
            .filter(refresh_token::Column::UserId.eq(user_id))
            .filter(refresh_token::Column::RevokedAt.is_null());
        if let Some(keep) = keep {
            update = update.filter(refresh_token::Column::FamilyId.ne(keep));
        }
        Ok(update.exec(&self.db).await?.rows_affected)
    }

    /// Revokes every sign-in a user made from `device_id`; returns how many tokens it ended.
    pub async fn revoke_device_sessions(
        &self,
        user_id: Uuid,
        device_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        Ok(refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
            .filter(refresh_token::Column::UserId.eq(user_id))
            .filter(refresh_token::Column::DeviceId.eq(device_id))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?
            .rows_affected)
    }

    /// Every refresh token of a user, newest first.
    pub async fn user_refresh_tokens(&self, user_id: Uuid) -> StoreResult<Vec<RefreshTokenRecord>> {
        Ok(refresh_token::Entity::find()
            .filter(refresh_token::Column::UserId.eq(user_id))
            .order_by_desc(refresh_token::Column::CreatedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(crate::auth_tables::to_token)
            .collect())
    }

    /// The devices a user synced from.
    pub async fn user_sync_devices(&self, user_id: Uuid) -> StoreResult<Vec<SyncDeviceRecord>> {
        let select = Query::select()
            .columns(["device_id", "last_seen_at", "last_cursor"])
            .from("sync_devices")
            .and_where(Expr::col("user_id").eq(user_id))
            .to_owned();
        self.db
            .query_all(&select)
            .await?
            .iter()
            .map(|row| {
                let cursor: i64 = row.try_get("", "last_cursor")?;
                Ok(SyncDeviceRecord {
                    device_id: row.try_get("", "device_id")?,
                    last_seen_at: row.try_get("", "last_seen_at")?,
                    last_cursor: u64::try_from(cursor).unwrap_or(0),
                })
            })
            .collect()
    }

    pub async fn insert_account_log(&self, entry: AccountLogEntry) -> StoreResult<()> {
        let insert = Query::insert()
            .into_table(LOG)
            .columns(LOG_COLUMNS)
            .values([
                entry.id.into(),
                entry.tenant_id.into(),
                entry.user_id.into(),
                entry.username.into(),
                entry.actor_id.into(),
                entry.actor_username.into(),
                entry.action.into(),
                entry.detail.into(),
                entry.at.into(),
            ])
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .to_owned();
        self.db.execute(&insert).await?;
        Ok(())
    }

    /// The account log of one user, newest first, at most `limit` entries.
    pub async fn account_log(
        &self,
        user_id: Uuid,
        limit: u64,
    ) -> StoreResult<Vec<AccountLogEntry>> {
        let select = Query::select()
            .columns(LOG_COLUMNS)
            .from(LOG)
            .and_where(Expr::col("user_id").eq(user_id))
            .order_by("at", Order::Desc)
            .order_by("id", Order::Desc)
            .limit(limit)
            .to_owned();
        self.db
            .query_all(&select)
            .await?
            .iter()
            .map(|row| {
                Ok(AccountLogEntry {
                    id: row.try_get("", "id")?,
                    tenant_id: row.try_get("", "tenant_id")?,
                    user_id: row.try_get("", "user_id")?,
                    username: row.try_get("", "username")?,
                    actor_id: row.try_get("", "actor_id")?,
                    actor_username: row.try_get("", "actor_username")?,
                    action: row.try_get("", "action")?,
                    detail: row.try_get("", "detail")?,
                    at: row.try_get("", "at")?,
                })
            })
            .collect()
    }
}
