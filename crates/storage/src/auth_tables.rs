//! Refresh tokens and the login throttle. The rules (rotation, reuse detection, how many
//! failures lock an account) live in `paicha-auth`; this module only keeps their state.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use uuid::Uuid;

use crate::entities::{login_throttle, refresh_token};
use crate::{Store, StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    pub id: Uuid,
    pub family_id: Uuid,
    pub user_id: Uuid,
    pub family_created_at: DateTime<Utc>,
    pub device_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub struct NewRefreshToken {
    pub id: Uuid,
    pub family_id: Uuid,
    pub user_id: Uuid,
    pub family_created_at: DateTime<Utc>,
    /// SHA-256 of the token, hex. The token itself is never stored.
    pub token_hash: String,
    pub device_id: Option<String>,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The login-attempt state of one username: attempts not yet followed by a success, within
/// the current window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleRecord {
    pub username: String,
    pub attempts: u32,
    pub window_started_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
}

pub(crate) fn token_model(new: NewRefreshToken) -> refresh_token::ActiveModel {
    refresh_token::ActiveModel {
        id: Set(new.id),
        family_id: Set(new.family_id),
        user_id: Set(new.user_id),
        family_created_at: Set(new.family_created_at),
        token_hash: Set(new.token_hash),
        device_id: Set(new.device_id),
        created_at: Set(new.now),
        expires_at: Set(new.expires_at),
        used_at: Set(None),
        revoked_at: Set(None),
    }
}

fn to_throttle(m: login_throttle::Model) -> ThrottleRecord {
    ThrottleRecord {
        username: m.username,
        attempts: u32::try_from(m.attempts).unwrap_or(0),
        window_started_at: m.window_started_at,
        locked_until: m.locked_until,
    }
}

pub(crate) fn to_token(m: refresh_token::Model) -> RefreshTokenRecord {
    RefreshTokenRecord {
        id: m.id,
        family_id: m.family_id,
        user_id: m.user_id,
        family_created_at: m.family_created_at,
        device_id: m.device_id,
        created_at: m.created_at,
        expires_at: m.expires_at,
        used_at: m.used_at,
        revoked_at: m.revoked_at,
    }
}

impl Store {
    pub async fn insert_refresh_token(&self, new: NewRefreshToken) -> StoreResult<()> {
        refresh_token::Entity::insert(token_model(new))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Adds one to a key's attempts back: a successful login from a source is not held against
    /// that source.
    pub async fn throttle_refund(&self, key: &str) -> StoreResult<()> {
        login_throttle::Entity::update_many()
            .col_expr(
                login_throttle::Column::Attempts,
                Expr::col(login_throttle::Column::Attempts).sub(1),
            )
            .filter(login_throttle::Column::Username.eq(key))
            .filter(login_throttle::Column::Attempts.gt(0))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Deletes the throttle rows whose window started before `window_start` and that are not
    /// locked at `now`: the table holds only keys with recent attempts, however many made-up
    /// usernames a guesser tries. Returns how many went.
    pub async fn prune_throttle(
        &self,
        window_start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        Ok(login_throttle::Entity::delete_many()
            .filter(login_throttle::Column::WindowStartedAt.lt(window_start))
            .filter(
                login_throttle::Column::LockedUntil
                    .is_null()
                    .or(login_throttle::Column::LockedUntil.lt(now)),
            )
            .exec(&self.db)
            .await?
            .rows_affected)
    }

    pub async fn refresh_token_by_hash(
        &self,
        hash: &str,
    ) -> StoreResult<Option<RefreshTokenRecord>> {
        Ok(refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(hash))
            .one(&self.db)
            .await?
            .map(to_token))
    }

    /// Marks a live token as used. Returns false when it was already used or revoked, so that of
    /// two concurrent refreshes with one token exactly one wins.
    pub async fn consume_refresh_token(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        let result = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
            .filter(refresh_token::Column::Id.eq(id))
            .filter(refresh_token::Column::UsedAt.is_null())
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Revokes every token of a family (one sign-in and all its rotations).
    pub async fn revoke_refresh_family(
        &self,
        family_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
            .filter(refresh_token::Column::FamilyId.eq(family_id))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Revokes every refresh token of a user.
    pub async fn revoke_user_refresh_tokens(
        &self,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
            .filter(refresh_token::Column::UserId.eq(user_id))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Counts a login attempt for `username` atomically: the row is locked (a PostgreSQL row
    /// lock, SQLite's write lock) while `decide` turns the current state into the next one, so
    /// concurrent attempts are counted one after another and none slips past the limit.
    pub async fn throttle_attempt<T>(
        &self,
        username: &str,
        now: DateTime<Utc>,
        decide: impl FnOnce(ThrottleRecord) -> (ThrottleRecord, T) + Send,
    ) -> StoreResult<T> {
        let fresh = login_throttle::ActiveModel {
            username: Set(username.to_owned()),
            attempts: Set(0),
            window_started_at: Set(now),
            locked_until: Set(None),
        };
        login_throttle::Entity::insert(fresh)
            .on_conflict_do_nothing_on([login_throttle::Column::Username])
            .exec(&self.db)
            .await?;
        let txn = self.db.begin().await?;
        // A no-op write first, to take the lock before reading.
        login_throttle::Entity::update_many()
            .col_expr(
                login_throttle::Column::Attempts,
                Expr::col(login_throttle::Column::Attempts),
            )
            .filter(login_throttle::Column::Username.eq(username))
            .exec(&txn)
            .await?;
        let current = login_throttle::Entity::find_by_id(username.to_owned())
            .one(&txn)
            .await?
            .map(to_throttle)
            .ok_or(StoreError::NotFound)?;
        let (next, answer) = decide(current);
        login_throttle::Entity::update_many()
            .col_expr(
                login_throttle::Column::Attempts,
                Expr::value(i32::try_from(next.attempts).unwrap_or(i32::MAX)),
            )
            .col_expr(
                login_throttle::Column::WindowStartedAt,
                Expr::value(next.window_started_at),
            )
            .col_expr(
                login_throttle::Column::LockedUntil,
                Expr::value(next.locked_until),
            )
            .filter(login_throttle::Column::Username.eq(username))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(answer)
    }

    /// Every throttle row, for the periodic clean-up of lapsed ones.
    pub async fn throttle_records(&self) -> StoreResult<Vec<ThrottleRecord>> {
        Ok(login_throttle::Entity::find()
            .all(&self.db)
            .await?
            .into_iter()
            .map(to_throttle)
            .collect())
    }

    pub async fn clear_throttle(&self, username: &str) -> StoreResult<()> {
        login_throttle::Entity::delete_by_id(username.to_owned())
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
