//! In the database: which blobs each tenant holds (the fact of their upload, their size and
//! kind), which records reference them (the basis of who may download one), each tenant's
//! bytes (its quota's use), and the collection of blobs no record has named for a while.

use chrono::{DateTime, Utc};
use paicha_domain::blob::is_blob_hash;
use paicha_domain::ids::TenantId;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use uuid::Uuid;

use super::BlobRow;
use crate::records::{RecordRow, Scope};
use crate::{Store, StoreError, StoreResult, SyncTxn};

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl Store {
    /// A blob uploaded in `tenant_id`.
    pub async fn blob(&self, tenant_id: TenantId, sha256: &str) -> StoreResult<Option<BlobRow>> {
        let select = Query::select()
            .columns(["sha256", "size", "content_type"])
            .from("blobs")
            .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
            .and_where(Expr::col("sha256").eq(sha256))
            .to_owned();
        let Some(row) = self.db.query_one(&select).await? else {
            return Ok(None);
        };
        Ok(Some(BlobRow {
            sha256: row.try_get("", "sha256")?,
            size: to_u64(row.try_get("", "size")?),
            content_type: row.try_get("", "content_type")?,
        }))
    }

    /// Records an uploaded blob (once; a second upload of the same content changes nothing).
    pub async fn insert_blob(
        &self,
        tenant_id: TenantId,
        blob: &BlobRow,
        by: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let insert = Query::insert()
            .into_table("blobs")
            .columns([
                "tenant_id",
                "sha256",
                "size",
                "content_type",
                "uploaded_by",
                "created_at",
            ])
            .values([
                tenant_id.uuid().into(),
                blob.sha256.clone().into(),
                i64::try_from(blob.size).unwrap_or(i64::MAX).into(),
                blob.content_type.clone().into(),
                by.into(),
                now.into(),
            ])
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .on_conflict(
                OnConflict::columns(["tenant_id", "sha256"])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        self.db.execute(&insert).await?;
        Ok(())
    }

    /// Bytes of the blobs recorded for a tenant (its quota's use): a blob stored once on disk
    /// but recorded by two tenants counts for each.
    pub async fn blob_usage(&self, tenant_id: TenantId) -> StoreResult<u64> {
        let select = Query::select()
            .expr_as(Expr::cust("CAST(COALESCE(SUM(size), 0) AS BIGINT)"), "used")
            .from("blobs")
            .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
            .to_owned();
        let Some(row) = self.db.query_one(&select).await? else {
            return Ok(0);
        };
        Ok(to_u64(row.try_get("", "used")?))
    }

    /// Every stored blob's content, once per hash: (SHA-256, size), by hash.
    pub async fn all_blob_contents(&self) -> StoreResult<Vec<(String, u64)>> {
        let select = Query::select()
            .column("sha256")
            .expr_as(Expr::cust("MAX(size)"), "size")
            .from("blobs")
            .group_by_col("sha256")
            .order_by("sha256", sea_orm::Order::Asc)
            .to_owned();
        let mut all = Vec::new();
        for row in self.db.query_all(&select).await? {
            all.push((row.try_get("", "sha256")?, to_u64(row.try_get("", "size")?)));
        }
        Ok(all)
    }

    /// Forgets a tenant's blob.
    pub async fn delete_blob(&self, tenant_id: TenantId, sha256: &str) -> StoreResult<()> {
        let delete = Query::delete()
            .from_table("blobs")
            .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
            .and_where(Expr::col("sha256").eq(sha256))
            .to_owned();
        self.db.execute(&delete).await?;
        Ok(())
    }

    /// Whether any tenant holds the blob (then its content must stay on disk).
    pub async fn blob_held_anywhere(&self, sha256: &str) -> StoreResult<bool> {
        let select = Query::select()
            .column("sha256")
            .from("blobs")
            .and_where(Expr::col("sha256").eq(sha256))
            .limit(1)
            .to_owned();
        Ok(self.db.query_one(&select).await?.is_some())
    }

    /// The blob collection's database part. Notes when each tenant's blob stopped being
    /// referenced by any live record of that tenant (and forgets the note when a record names
    /// it again), then deletes the tenant's blob rows unreferenced since `now - grace` or
    /// earlier. Returns the (tenant, hash) of the rows that went; their content may go once
    /// [`Store::blob_held_anywhere`] says no tenant holds them.
    pub async fn collect_unreferenced_blobs(
        &self,
        now: DateTime<Utc>,
        grace: std::time::Duration,
    ) -> StoreResult<Vec<(TenantId, String)>> {
        let referenced = || {
            Expr::exists(
                Query::select()
                    .expr(Expr::val(1))
                    .from("blob_refs")
                    .and_where(Expr::col(("blob_refs", "tenant_id")).equals(("blobs", "tenant_id")))
                    .and_where(Expr::col(("blob_refs", "sha256")).equals(("blobs", "sha256")))
                    .to_owned(),
            )
        };
        let referenced_again = Query::update()
            .table("blobs")
            .value("unreferenced_since", Option::<DateTime<Utc>>::None)
            .and_where(Expr::col("unreferenced_since").is_not_null())
            .and_where(referenced())
            .to_owned();
        self.db.execute(&referenced_again).await?;
        let unreferenced = Query::update()
            .table("blobs")
            .value("unreferenced_since", now)
            .and_where(Expr::col("unreferenced_since").is_null())
            .and_where(referenced().not())
            .to_owned();
        self.db.execute(&unreferenced).await?;

        let cutoff = now - chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX);
        let due = Query::select()
            .columns(["tenant_id", "sha256"])
            .from("blobs")
            .and_where(Expr::col("unreferenced_since").lte(cutoff))
            .to_owned();
        let mut gone = Vec::new();
        for row in self.db.query_all(&due).await? {
            let tenant_id = TenantId::new(row.try_get("", "tenant_id")?);
            let sha256: String = row.try_get("", "sha256")?;
            // Checked again in the deleting statement: a record may have named it meanwhile.
            let delete = Query::delete()
                .from_table("blobs")
                .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
                .and_where(Expr::col("sha256").eq(sha256.clone()))
                .and_where(Expr::col("unreferenced_since").lte(cutoff))
                .and_where(referenced().not())
                .to_owned();
            if self.db.execute(&delete).await?.rows_affected() > 0 {
                gone.push((tenant_id, sha256));
            }
        }
        Ok(gone)
    }

    /// Whether a live record the scope sees (`Scope::sees`) references the blob.
    pub async fn blob_in_scope(&self, scope: Scope<'_>, sha256: &str) -> StoreResult<bool> {
        let select = Query::select()
            .column("sha256")
            .from("blob_refs")
            .and_where(Expr::col("sha256").eq(sha256))
            .cond_where(scope.condition_any())
            .limit(1)
            .to_owned();
        Ok(self.db.query_one(&select).await?.is_some())
    }

    /// Blobs referenced by records in `scope` whose content has not arrived yet.
    pub async fn missing_blobs(&self, scope: Scope<'_>, limit: u64) -> StoreResult<Vec<String>> {
        let uploaded = Query::select()
            .column("sha256")
            .from("blobs")
            .and_where(Expr::col("tenant_id").eq(scope.tenant_id().uuid()))
            .to_owned();
        let select = Query::select()
            .distinct()
            .column("sha256")
            .from("blob_refs")
            .cond_where(scope.condition_any())
            .and_where(Expr::col("sha256").not_in_subquery(uploaded))
            .limit(limit)
            .to_owned();
        self.db
            .query_all(&select)
            .await?
            .iter()
            .map(|row| Ok(row.try_get("", "sha256")?))
            .collect()
    }
}

impl SyncTxn {
    /// Replaces the blob references of a record with `hashes`, and returns those of them whose
    /// content has not been uploaded yet.
    pub async fn set_blob_refs(
        &self,
        row: &RecordRow,
        hashes: &[String],
    ) -> StoreResult<Vec<String>> {
        let delete = Query::delete()
            .from_table("blob_refs")
            .and_where(Expr::col("collection").eq(row.collection.as_str()))
            .and_where(Expr::col("record_id").eq(row.id))
            .to_owned();
        self.conn().execute(&delete).await?;
        let mut missing = Vec::new();
        for sha in hashes.iter().filter(|h| is_blob_hash(h)) {
            let insert = Query::insert()
                .into_table("blob_refs")
                .columns([
                    "collection",
                    "record_id",
                    "sha256",
                    "tenant_id",
                    "owner_path",
                    "addressee_path",
                ])
                .values([
                    row.collection.as_str().into(),
                    row.id.into(),
                    sha.clone().into(),
                    row.tenant_id.uuid().into(),
                    row.owner_path.clone().into(),
                    row.addressee_path.clone().into(),
                ])
                .map_err(|e| StoreError::Corrupt(e.to_string()))?
                .on_conflict(
                    OnConflict::columns(["collection", "record_id", "sha256"])
                        .do_nothing()
                        .to_owned(),
                )
                .to_owned();
            self.conn().execute(&insert).await?;
            let present = Query::select()
                .column("sha256")
                .from("blobs")
                .and_where(Expr::col("tenant_id").eq(row.tenant_id.uuid()))
                .and_where(Expr::col("sha256").eq(sha.clone()))
                .to_owned();
            if self.conn().query_one(&present).await?.is_none() && !missing.contains(sha) {
                missing.push(sha.clone());
            }
        }
        Ok(missing)
    }
}
