//! In the database, shared by every instance: the lease per content hash (one upload of a given
//! content at a time, across instances, and none while the collection deletes it); where each
//! unfinished upload to object storage stands (`blob_uploads`); and what each user holds of its
//! tenant's storage that no record names yet (its blobs no live record names, and its unfinished
//! uploads with their starter, device and announced size: `blob_upload_owners`), on which the
//! per-user allowance and the cap on unfinished uploads are judged.

use chrono::{DateTime, Utc};
use paicha_domain::ids::TenantId;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use uuid::Uuid;

use crate::{Store, StoreError, StoreResult};

impl Store {
    /// Takes the lease of a blob's content for `holder` until `expires_at`, unless someone
    /// else holds it and it has not expired (an expired lease is taken over). Returns whether
    /// `holder` now holds it.
    pub async fn take_blob_lease(
        &self,
        sha256: &str,
        holder: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let expired = Query::delete()
            .from_table("blob_leases")
            .and_where(Expr::col("sha256").eq(sha256))
            .and_where(Expr::col("expires_at").lt(now))
            .to_owned();
        self.db.execute(&expired).await?;
        let insert = Query::insert()
            .into_table("blob_leases")
            .columns(["sha256", "holder", "expires_at"])
            .values([sha256.into(), holder.into(), expires_at.into()])
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .on_conflict(OnConflict::column("sha256").do_nothing().to_owned())
            .to_owned();
        Ok(self.db.execute(&insert).await?.rows_affected() == 1)
    }

    /// Deletes leases that ran out before `now` (their holders died). Returns how many.
    pub async fn prune_blob_leases(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let delete = Query::delete()
            .from_table("blob_leases")
            .and_where(Expr::col("expires_at").lt(now))
            .to_owned();
        Ok(self.db.execute(&delete).await?.rows_affected())
    }

    /// Moves a blob's lease on to `expires_at`, if `holder` still holds it (an upload renews
    /// its lease while it runs). Returns whether it does.
    pub async fn renew_blob_lease(
        &self,
        sha256: &str,
        holder: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let update = Query::update()
            .table("blob_leases")
            .value("expires_at", expires_at)
            .and_where(Expr::col("sha256").eq(sha256))
            .and_where(Expr::col("holder").eq(holder))
            .to_owned();
        Ok(self.db.execute(&update).await?.rows_affected() == 1)
    }

    /// Gives back every blob lease whose holder begins with `prefix` (an instance's own, when it
    /// starts again after dying with them). Returns how many.
    pub async fn release_blob_leases_of(&self, prefix: &str) -> StoreResult<u64> {
        let delete = Query::delete()
            .from_table("blob_leases")
            .and_where(
                Expr::col("holder").like(format!("{}%", crate::imports::like_literal(prefix))),
            )
            .to_owned();
        Ok(self.db.execute(&delete).await?.rows_affected())
    }

    /// Gives a blob's lease back, if `holder` still holds it.
    pub async fn release_blob_lease(&self, sha256: &str, holder: &str) -> StoreResult<()> {
        let delete = Query::delete()
            .from_table("blob_leases")
            .and_where(Expr::col("sha256").eq(sha256))
            .and_where(Expr::col("holder").eq(holder))
            .to_owned();
        self.db.execute(&delete).await?;
        Ok(())
    }

    /// Bytes received of an unfinished upload kept in object storage.
    pub async fn blob_upload_received(
        &self,
        tenant_id: TenantId,
        sha256: &str,
    ) -> StoreResult<u64> {
        let select = Query::select()
            .column("received")
            .from("blob_uploads")
            .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
            .and_where(Expr::col("sha256").eq(sha256))
            .to_owned();
        let Some(row) = self.db.query_one(&select).await? else {
            return Ok(0);
        };
        let received: i64 = row.try_get("", "received")?;
        Ok(u64::try_from(received).unwrap_or(0))
    }

    /// Bytes of every unfinished upload of a tenant kept in object storage.
    pub async fn blob_uploads_received(&self, tenant_id: TenantId) -> StoreResult<u64> {
        let select = Query::select()
            .expr_as(
                Expr::cust("CAST(COALESCE(SUM(received), 0) AS BIGINT)"),
                "used",
            )
            .from("blob_uploads")
            .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
            .to_owned();
        let Some(row) = self.db.query_one(&select).await? else {
            return Ok(0);
        };
        let used: i64 = row.try_get("", "used")?;
        Ok(u64::try_from(used).unwrap_or(0))
    }

    /// Notes that an upload kept in object storage has received `received` bytes.
    pub async fn record_blob_upload(
        &self,
        tenant_id: TenantId,
        sha256: &str,
        received: u64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let received = i64::try_from(received).unwrap_or(i64::MAX);
        let upsert = Query::insert()
            .into_table("blob_uploads")
            .columns(["tenant_id", "sha256", "received", "updated_at"])
            .values([
                tenant_id.uuid().into(),
                sha256.into(),
                received.into(),
                now.into(),
            ])
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .on_conflict(
                OnConflict::columns(["tenant_id", "sha256"])
                    .update_columns(["received", "updated_at"])
                    .to_owned(),
            )
            .to_owned();
        self.db.execute(&upsert).await?;
        Ok(())
    }

    /// Forgets an unfinished upload kept in object storage.
    pub async fn forget_blob_upload(&self, tenant_id: TenantId, sha256: &str) -> StoreResult<()> {
        self.delete_upload_row("blob_uploads", tenant_id, sha256)
            .await
    }

    /// Unfinished uploads kept in object storage not written to since `before`.
    pub async fn stale_blob_uploads(
        &self,
        before: DateTime<Utc>,
    ) -> StoreResult<Vec<(TenantId, String)>> {
        let select = Query::select()
            .columns(["tenant_id", "sha256"])
            .from("blob_uploads")
            .and_where(Expr::col("updated_at").lt(before))
            .to_owned();
        let mut stale = Vec::new();
        for row in self.db.query_all(&select).await? {
            stale.push((
                TenantId::new(row.try_get("", "tenant_id")?),
                row.try_get("", "sha256")?,
            ));
        }
        Ok(stale)
    }
}

/// What one user holds of its tenant's blob storage that no record uses yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserBlobUse {
    /// Bytes of the blobs it uploaded that no live record names, plus the announced size of
    /// its unfinished uploads.
    pub bytes: u64,
    /// Its unfinished uploads.
    pub unfinished: u64,
    /// Its unfinished uploads started from the given device.
    pub unfinished_on_device: u64,
}

impl Store {
    /// What `user_id` holds (see [`UserBlobUse`]), leaving out the upload of `except` (the one
    /// being continued).
    pub async fn user_blob_use(
        &self,
        tenant_id: TenantId,
        user_id: Uuid,
        device_id: Option<&str>,
        except: &str,
    ) -> StoreResult<UserBlobUse> {
        let named = Query::select()
            .expr(Expr::val(1))
            .from("blob_refs")
            .and_where(Expr::col(("blob_refs", "tenant_id")).equals(("blobs", "tenant_id")))
            .and_where(Expr::col(("blob_refs", "sha256")).equals(("blobs", "sha256")))
            .to_owned();
        let stored = Query::select()
            .expr_as(Expr::cust("CAST(COALESCE(SUM(size), 0) AS BIGINT)"), "used")
            .from("blobs")
            .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
            .and_where(Expr::col("uploaded_by").eq(user_id))
            .and_where(Expr::exists(named).not())
            .to_owned();
        let stored = match self.db.query_one(&stored).await? {
            Some(row) => row.try_get::<i64>("", "used")?,
            None => 0,
        };
        let unfinished = Query::select()
            .columns(["device_id", "total"])
            .from("blob_upload_owners")
            .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
            .and_where(Expr::col("user_id").eq(user_id))
            .and_where(Expr::col("sha256").ne(except))
            .to_owned();
        let mut held = UserBlobUse {
            bytes: u64::try_from(stored).unwrap_or(0),
            ..UserBlobUse::default()
        };
        for row in self.db.query_all(&unfinished).await? {
            let device: Option<String> = row.try_get("", "device_id")?;
            let total: i64 = row.try_get("", "total")?;
            held.bytes = held.bytes.saturating_add(u64::try_from(total).unwrap_or(0));
            held.unfinished += 1;
            if device.is_some() && device.as_deref() == device_id {
                held.unfinished_on_device += 1;
            }
        }
        Ok(held)
    }

    /// Notes who continues an unfinished upload of `total` bytes, and from which device.
    pub async fn note_unfinished_upload(
        &self,
        tenant_id: TenantId,
        sha256: &str,
        user_id: Uuid,
        device_id: Option<&str>,
        total: u64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let total = i64::try_from(total).unwrap_or(i64::MAX);
        let upsert = Query::insert()
            .into_table("blob_upload_owners")
            .columns([
                "tenant_id",
                "sha256",
                "user_id",
                "device_id",
                "total",
                "updated_at",
            ])
            .values([
                tenant_id.uuid().into(),
                sha256.into(),
                user_id.into(),
                device_id.map(str::to_owned).into(),
                total.into(),
                now.into(),
            ])
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .on_conflict(
                OnConflict::columns(["tenant_id", "sha256"])
                    .update_columns(["user_id", "device_id", "total", "updated_at"])
                    .to_owned(),
            )
            .to_owned();
        self.db.execute(&upsert).await?;
        Ok(())
    }

    /// Forgets who started an upload (it completed, was discarded or replaced).
    pub async fn forget_unfinished_upload(
        &self,
        tenant_id: TenantId,
        sha256: &str,
    ) -> StoreResult<()> {
        self.delete_upload_row("blob_upload_owners", tenant_id, sha256)
            .await
    }

    /// Deletes the row of one upload (a tenant's content hash) from `table`.
    async fn delete_upload_row(
        &self,
        table: &'static str,
        tenant_id: TenantId,
        sha256: &str,
    ) -> StoreResult<()> {
        let delete = Query::delete()
            .from_table(table)
            .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
            .and_where(Expr::col("sha256").eq(sha256))
            .to_owned();
        self.db.execute(&delete).await?;
        Ok(())
    }

    /// Forgets the owners of uploads not continued since `before` (purged as abandoned).
    pub async fn forget_stale_upload_owners(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let delete = Query::delete()
            .from_table("blob_upload_owners")
            .and_where(Expr::col("updated_at").lt(before))
            .to_owned();
        Ok(self.db.execute(&delete).await?.rows_affected())
    }

    /// The device a sign-in (refresh-token family) was made with, if it named one.
    pub async fn session_device(
        &self,
        user_id: Uuid,
        session_id: Uuid,
    ) -> StoreResult<Option<String>> {
        let select = Query::select()
            .column("device_id")
            .from("refresh_tokens")
            .and_where(Expr::col("family_id").eq(session_id))
            .and_where(Expr::col("user_id").eq(user_id))
            .limit(1)
            .to_owned();
        match self.db.query_one(&select).await? {
            Some(row) => Ok(row.try_get("", "device_id")?),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_blob_lease_is_held_by_one_until_given_back_or_run_out() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let now = Utc::now();
        let later = now + chrono::Duration::seconds(120);
        let sha = "a".repeat(64);
        assert!(
            store
                .take_blob_lease(&sha, "one", now, later)
                .await
                .unwrap_or(false)
        );
        assert!(
            !store
                .take_blob_lease(&sha, "two", now, later)
                .await
                .unwrap_or(true)
        );
        store
            .release_blob_lease(&sha, "two")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !store
                .take_blob_lease(&sha, "two", now, later)
                .await
                .unwrap_or(true)
        );
        store
            .release_blob_lease(&sha, "one")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            store
                .take_blob_lease(&sha, "two", now, later)
                .await
                .unwrap_or(false)
        );
        // Renewed only by its holder; an instance's own given back together, no other's.
        assert!(!store.renew_blob_lease(&sha, "one", later).await.unwrap());
        assert!(store.renew_blob_lease(&sha, "two", later).await.unwrap());
        let other = "b".repeat(64);
        assert!(
            store
                .take_blob_lease(&other, "i1/x", now, later)
                .await
                .unwrap()
        );
        assert_eq!(store.release_blob_leases_of("i2/").await.unwrap(), 0);
        assert_eq!(store.release_blob_leases_of("i1/").await.unwrap(), 1);
        assert!(
            store
                .take_blob_lease(&other, "i2/y", now, later)
                .await
                .unwrap()
        );
        store.release_blob_lease(&other, "i2/y").await.unwrap();
        // Run out: pruned, or taken over.
        let after = later + chrono::Duration::seconds(1);
        assert_eq!(store.prune_blob_leases(later).await.unwrap(), 0);
        assert_eq!(store.prune_blob_leases(after).await.unwrap(), 1);
        assert!(
            store
                .take_blob_lease(&sha, "two", now, later)
                .await
                .unwrap()
        );
        assert!(
            store
                .take_blob_lease(&sha, "three", after, after + chrono::Duration::seconds(120))
                .await
                .unwrap_or(false)
        );
    }
}
