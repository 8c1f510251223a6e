//! Refresh tokens and the login throttle. The rules (rotation, reuse detection, how many
//! failures lock an account) live in `paicha-auth`; this module only keeps their state.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::entities::{login_throttle, refresh_token};
use crate::{Store, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    pub id: Uuid,
    pub family_id: Uuid,
    pub user_id: Uuid,
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
    /// SHA-256 of the token, hex. The token itself is never stored.
    pub token_hash: String,
    pub device_id: Option<String>,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The failed-login state of one username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleRecord {
    pub username: String,
    pub failures: u32,
    pub window_started_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
}

fn to_token(m: refresh_token::Model) -> RefreshTokenRecord {
    RefreshTokenRecord {
        id: m.id,
        family_id: m.family_id,
        user_id: m.user_id,
        device_id: m.device_id,
        created_at: m.created_at,
        expires_at: m.expires_at,
        used_at: m.used_at,
        revoked_at: m.revoked_at,
    }
}

impl Store {
    pub async fn insert_refresh_token(&self, new: NewRefreshToken) -> StoreResult<()> {
        let model = refresh_token::ActiveModel {
            id: Set(new.id),
            family_id: Set(new.family_id),
            user_id: Set(new.user_id),
            token_hash: Set(new.token_hash),
            device_id: Set(new.device_id),
            created_at: Set(new.now),
            expires_at: Set(new.expires_at),
            used_at: Set(None),
            revoked_at: Set(None),
        };
        refresh_token::Entity::insert(model).exec(&self.db).await?;
        Ok(())
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
            .col_expr(
                refresh_token::Column::UsedAt,
                sea_orm::sea_query::Expr::value(now),
            )
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
            .col_expr(
                refresh_token::Column::RevokedAt,
                sea_orm::sea_query::Expr::value(now),
            )
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
            .col_expr(
                refresh_token::Column::RevokedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(refresh_token::Column::UserId.eq(user_id))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    pub async fn throttle(&self, username: &str) -> StoreResult<Option<ThrottleRecord>> {
        Ok(login_throttle::Entity::find_by_id(username.to_owned())
            .one(&self.db)
            .await?
            .map(|m| ThrottleRecord {
                username: m.username,
                failures: u32::try_from(m.failures).unwrap_or(0),
                window_started_at: m.window_started_at,
                locked_until: m.locked_until,
            }))
    }

    pub async fn save_throttle(&self, record: &ThrottleRecord) -> StoreResult<()> {
        let model = login_throttle::ActiveModel {
            username: Set(record.username.clone()),
            failures: Set(i32::try_from(record.failures).unwrap_or(i32::MAX)),
            window_started_at: Set(record.window_started_at),
            locked_until: Set(record.locked_until),
        };
        login_throttle::Entity::insert(model)
            .on_conflict(
                OnConflict::column(login_throttle::Column::Username)
                    .update_columns([
                        login_throttle::Column::Failures,
                        login_throttle::Column::WindowStartedAt,
                        login_throttle::Column::LockedUntil,
                    ])
                    .to_owned(),
            )
            .exec(&self.db)
            .await?;
        Ok(())
    }

    pub async fn clear_throttle(&self, username: &str) -> StoreResult<()> {
        login_throttle::Entity::delete_by_id(username.to_owned())
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
