//! Account lifecycle: the session check of every request, changing a user, revoking its
//! sessions, its devices, and the account log.

use paicha_domain::ids::{TenantId, UnitId};
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
    pub org_unit_id: Option<UnitId>,
    pub tenant_id: Option<TenantId>,
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
    pub tenant_id: Option<TenantId>,
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
        // Every request reads its session first, so many requests arriving at once (ten
        // thousand long-polls reconnecting) each made a query here and waited in it for one
        // of the pool's few connections, holding the query's state (about 30 KiB) meanwhile:
        // 59 MB at the peak for 2,000 long-polls, kept by the allocator long after (heap
        // profile, docs/benchmarks.md, results of 2026-11-29, commit 206aacc). They now wait
        // for a turn first, holding next to nothing: the query, its statement and its boxed
        // state are made only once the turn is taken (a future's state is allocated whole,
        // for its largest await, so waiting inside the query's own future held all of it; 3
        // KiB a poll of 10,000, docs/benchmarks.md, results of 2026-12-08). A request that
        // waited 10 s goes on without one, to the pool's own queue and time-out as before.
        let permit =
            tokio::time::timeout(Duration::from_secs(10), self.session_reads.acquire()).await;
        let read = Box::pin(self.read_session_and_unit(user_id, session_id)).await;
        drop(permit);
        read
    }

    /// [`Store::session_and_unit`]'s query, once its turn is taken.
    async fn read_session_and_unit(
        &self,
        user_id: Uuid,
        session_id: Uuid,
    ) -> StoreResult<Option<(SessionStatus, Option<OrgUnitRecord>)>> {
        // A sign-in is alive while a token of its family is unrevoked and none is revoked:
        // once revoked, a family stays ended even if a refresh racing the revocation added a
        // token the revoking statement did not see (PostgreSQL's READ COMMITTED).
        let in_family = |revoked: bool| {
            let revoked_at = Expr::col(("refresh_tokens", "revoked_at"));
            Query::select()
                .expr(Expr::val(1))
                .from("refresh_tokens")
                .and_where(Expr::col(("refresh_tokens", "family_id")).eq(session_id))
                .and_where(Expr::col(("refresh_tokens", "user_id")).eq(user_id))
                .and_where(if revoked {
                    revoked_at.is_not_null()
                } else {
                    revoked_at.is_null()
                })
                .to_owned()
        };
        let alive = Expr::exists(in_family(false)).and(Expr::exists(in_family(true)).not());
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
                Expr::case(alive, Expr::val(1)).finally(Expr::val(0)),
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
        let Some(row) = self.db.query_one(&select).await? else {
            return Ok(None);
        };
        let role: String = row.try_get("", "role")?;
        let role = Role::parse(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("user {user_id} has role {role:?}")))?;
        let alive: i32 = row.try_get("", "alive")?;
        let status = SessionStatus {
            disabled: row.try_get("", "disabled")?,
            role,
            org_unit_id: row
                .try_get::<Option<Uuid>>("", "org_unit_id")?
                .map(UnitId::new),
            tenant_id: row
                .try_get::<Option<Uuid>>("", "tenant_id")?
                .map(TenantId::new),
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
        update_user_on(&self.db, id, change).await
    }

    /// Sets a user's password hash; a password set anew also satisfies a required change.
    pub async fn set_password_hash(&self, id: Uuid, password_hash: String) -> StoreResult<()> {
        set_password_hash_on(&self.db, id, password_hash).await
    }

    /// Revokes every sign-in of a user except `keep` (the caller's own); how many tokens it
    /// ended.
    pub async fn revoke_other_sessions(
        &self,
        user_id: Uuid,
        keep: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        revoke_sessions_on(&self.db, user_id, keep, now).await
    }

    /// Does `act` and writes its entry of the account log, in one transaction: an account never
    /// changes without its log entry, nor is a change logged that did not happen. The entry's
    /// actor is `event.actor_id` (its username read in the same transaction); an act that ends
    /// sign-ins adds how many tokens it ended to the detail (`tokens`). Returns the user as it
    /// is now.
    pub async fn change_account(
        &self,
        act: AccountAct,
        event: AccountEvent,
    ) -> StoreResult<(UserRecord, u64)> {
        let txn = self.db.begin().await?;
        let (user, ended) = match act {
            AccountAct::Create(new) => (crate::users::insert_user_on(&txn, new).await?, 0),
            AccountAct::Update {
                id,
                change,
                end_sessions,
            } => {
                let user = update_user_on(&txn, id, change).await?;
                let ended = if end_sessions {
                    revoke_sessions_on(&txn, id, None, event.at).await?
                } else {
                    0
                };
                (user, ended)
            }
            AccountAct::SetPassword {
                id,
                password_hash,
                keep,
            } => {
                set_password_hash_on(&txn, id, password_hash).await?;
                let ended = revoke_sessions_on(&txn, id, keep, event.at).await?;
                (existing_user(&txn, id).await?, ended)
            }
            AccountAct::EndSessions { id } => {
                let ended = revoke_sessions_on(&txn, id, None, event.at).await?;
                (existing_user(&txn, id).await?, ended)
            }
            AccountAct::EndDeviceSessions { id, device_id } => {
                let ended = revoke_device_sessions_on(&txn, id, &device_id, event.at).await?;
                (existing_user(&txn, id).await?, ended)
            }
        };
        let mut detail = event.detail;
        if event.counts_tokens
            && let serde_json::Value::Object(map) = &mut detail
        {
            map.insert("tokens".into(), ended.into());
        }
        let actor_username = if event.actor_id == user.id {
            user.username.clone()
        } else {
            crate::users::user_on(&txn, event.actor_id)
                .await?
                .map(|u| u.username)
                .unwrap_or_default()
        };
        insert_account_log_on(
            &txn,
            AccountLogEntry {
                id: Uuid::now_v7(),
                tenant_id: user.tenant_id,
                user_id: user.id,
                username: user.username.clone(),
                actor_id: event.actor_id,
                actor_username,
                action: event.action.to_owned(),
                detail: detail.to_string(),
                at: event.at,
            },
        )
        .await?;
        txn.commit().await?;
        Ok((user, ended))
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
        // A family revoked since (a sign-out, a replay) gets no successor: its revocation
        // committed before this read, or it will not see the successor and the session check
        // still ends the family by its revoked tokens.
        let revoked = refresh_token::Entity::find()
            .filter(refresh_token::Column::FamilyId.eq(successor.family_id))
            .filter(refresh_token::Column::RevokedAt.is_not_null())
            .one(&txn)
            .await?
            .is_some();
        if revoked {
            txn.rollback().await?;
            return Ok(false);
        }
        refresh_token::Entity::insert(crate::auth_tables::token_model(successor))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(true)
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
                    tenant_id: row
                        .try_get::<Option<Uuid>>("", "tenant_id")?
                        .map(TenantId::new),
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

/// An act on an account (see [`Store::change_account`]). No `Debug`: it may carry a password
/// hash.
pub enum AccountAct {
    /// Creates a user.
    Create(crate::NewUser),
    /// Changes a user; `end_sessions` also ends every sign-in of it (it was disabled).
    Update {
        id: Uuid,
        change: UserChange,
        end_sessions: bool,
    },
    /// Sets a user's password and ends its sign-ins but `keep` (the caller's own).
    SetPassword {
        id: Uuid,
        password_hash: String,
        keep: Option<Uuid>,
    },
    /// Ends every sign-in of a user.
    EndSessions { id: Uuid },
    /// Ends every sign-in a user made from one device.
    EndDeviceSessions { id: Uuid, device_id: String },
}

/// The account-log entry of an act: who did it, what the log calls it, its detail (JSON; never
/// a secret), when.
#[derive(Debug, Clone)]
pub struct AccountEvent {
    pub actor_id: Uuid,
    pub action: &'static str,
    pub detail: serde_json::Value,
    /// Adds to the detail how many tokens the act ended (`tokens`).
    pub counts_tokens: bool,
    pub at: DateTime<Utc>,
}

/// A user that must exist (it was just changed in the same transaction).
async fn existing_user<C: ConnectionTrait>(db: &C, id: Uuid) -> StoreResult<UserRecord> {
    crate::users::user_on(db, id)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Applies `change` to a user and returns it as it is now. A unit deleted meanwhile is
/// `StoreError::Reference`.
pub(crate) async fn update_user_on<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    change: UserChange,
) -> StoreResult<UserRecord> {
    let mut model = user::ActiveModel {
        id: sea_orm::ActiveValue::Unchanged(id),
        ..Default::default()
    };
    if let Some(role) = change.role {
        model.role = Set(role.as_str().to_owned());
    }
    if let Some(unit) = change.unit {
        model.tenant_id = Set(unit.as_ref().map(|u| u.tenant_id.uuid()));
        model.org_unit_id = Set(unit.as_ref().map(|u| u.id.uuid()));
    }
    if let Some(name) = change.display_name {
        model.display_name = Set(name);
    }
    if let Some(disabled) = change.disabled {
        model.disabled = Set(disabled);
    }
    if model.is_changed() {
        user::Entity::update(model).exec(db).await?;
    }
    crate::users::user_on(db, id)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Sets a user's password hash; a password set anew also satisfies a required change.
pub(crate) async fn set_password_hash_on<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    password_hash: String,
) -> StoreResult<()> {
    let result = user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(password_hash))
        .col_expr(user::Column::MustChangePassword, Expr::value(false))
        .filter(user::Column::Id.eq(id))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Revokes every sign-in of a user except `keep` (the caller's own).
pub(crate) async fn revoke_sessions_on<C: ConnectionTrait>(
    db: &C,
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
    Ok(update.exec(db).await?.rows_affected)
}

/// Revokes every sign-in a user made from `device_id`; returns how many tokens it ended.
pub(crate) async fn revoke_device_sessions_on<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    device_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    Ok(refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::UserId.eq(user_id))
        .filter(refresh_token::Column::DeviceId.eq(device_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?
        .rows_affected)
}

pub(crate) async fn insert_account_log_on<C: ConnectionTrait>(
    db: &C,
    entry: AccountLogEntry,
) -> StoreResult<()> {
    let insert = Query::insert()
        .into_table(LOG)
        .columns(LOG_COLUMNS)
        .values([
            entry.id.into(),
            entry.tenant_id.map(TenantId::uuid).into(),
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
    db.execute(&insert).await?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::NewUser;

    fn event(actor_id: Uuid, action: &'static str) -> AccountEvent {
        AccountEvent {
            actor_id,
            action,
            detail: serde_json::json!({}),
            counts_tokens: true,
            at: Utc::now(),
        }
    }

    /// A change and its log entry commit together: with the log unwritable, the change is not
    /// made either.
    #[tokio::test]
    async fn an_account_change_commits_with_its_log_entry_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let id = Uuid::now_v7();
        let new = NewUser {
            id,
            username: "admin-a".into(),
            password_hash: "first".into(),
            role: Role::SystemAdmin,
            unit: None,
            display_name: None,
            now: Utc::now(),
            must_change_password: true,
        };
        let (created, _) = store
            .change_account(AccountAct::Create(new), event(id, "created"))
            .await
            .unwrap();
        assert_eq!(created.username, "admin-a");
        let (_, ended) = store
            .change_account(
                AccountAct::SetPassword {
                    id,
                    password_hash: "second".into(),
                    keep: None,
                },
                event(id, "password_reset"),
            )
            .await
            .unwrap();
        assert_eq!(ended, 0);
        let log = store.account_log(id, 10).await.unwrap();
        let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["password_reset", "created"]);
        assert_eq!(log[0].detail, r#"{"tokens":0}"#);
        assert_eq!(log[0].actor_username, "admin-a");
        let user = store.user(id).await.unwrap().unwrap();
        assert_eq!(user.password_hash, "second");
        assert!(!user.must_change_password);

        // The log cannot be written: the password stays as it was.
        store
            .db
            .execute_unprepared("DROP TABLE account_log")
            .await
            .unwrap();
        let failed = store
            .change_account(
                AccountAct::SetPassword {
                    id,
                    password_hash: "third".into(),
                    keep: None,
                },
                event(id, "password_reset"),
            )
            .await;
        assert!(failed.is_err());
        assert_eq!(
            store.user(id).await.unwrap().unwrap().password_hash,
            "second"
        );
    }
}
