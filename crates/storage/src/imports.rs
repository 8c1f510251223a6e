//! What spreadsheet imports keep: a lease per unit being imported into (imports into one unit
//! take turns, across instances and the command line), and per record the version at which an
//! import last wrote it.

use paicha_domain::ids::TenantId;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use uuid::Uuid;

use crate::{Store, StoreError, StoreResult};

/// Ids per statement: well under SQLite's limit on bound parameters.
const CHUNK: usize = 500;

/// `text` with LIKE's wildcards dropped (holders are ids, which never hold them), so that a
/// prefix never matches more than itself.
pub(crate) fn like_literal(text: &str) -> String {
    text.replace(['%', '_', '\\'], "")
}

impl Store {
    /// Takes the import lease of `unit` for `holder` until `expires_at`, unless someone else
    /// holds it and it has not expired (an expired lease is taken over). Returns whether
    /// `holder` now holds it.
    pub async fn take_import_lease(
        &self,
        unit: Uuid,
        holder: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let expired = Query::delete()
            .from_table("import_locks")
            .and_where(Expr::col("org_unit_id").eq(unit))
            .and_where(Expr::col("expires_at").lt(now))
            .to_owned();
        self.db.execute(&expired).await?;
        let insert = Query::insert()
            .into_table("import_locks")
            .columns(["org_unit_id", "holder", "expires_at"])
            .values([unit.into(), holder.into(), expires_at.into()])
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .on_conflict(OnConflict::column("org_unit_id").do_nothing().to_owned())
            .to_owned();
        Ok(self.db.execute(&insert).await?.rows_affected() == 1)
    }

    /// Gives the lease of `unit` back, if `holder` still holds it.
    pub async fn release_import_lease(&self, unit: Uuid, holder: &str) -> StoreResult<()> {
        let delete = Query::delete()
            .from_table("import_locks")
            .and_where(Expr::col("org_unit_id").eq(unit))
            .and_where(Expr::col("holder").eq(holder))
            .to_owned();
        self.db.execute(&delete).await?;
        Ok(())
    }

    /// Moves the lease of `unit` on to `expires_at`, if `holder` still holds it (an import
    /// renews its lease while it works). Returns whether it does.
    pub async fn renew_import_lease(
        &self,
        unit: Uuid,
        holder: &str,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let update = Query::update()
            .table("import_locks")
            .value("expires_at", expires_at)
            .and_where(Expr::col("org_unit_id").eq(unit))
            .and_where(Expr::col("holder").eq(holder))
            .to_owned();
        Ok(self.db.execute(&update).await?.rows_affected() == 1)
    }

    /// Gives back every import lease whose holder begins with `prefix` (an instance's own, when
    /// it starts again after dying with them). Returns how many.
    pub async fn release_import_leases_of(&self, prefix: &str) -> StoreResult<u64> {
        let delete = Query::delete()
            .from_table("import_locks")
            .and_where(Expr::col("holder").like(format!("{}%", like_literal(prefix))))
            .to_owned();
        Ok(self.db.execute(&delete).await?.rows_affected())
    }

    /// The version at which an import last wrote each of `ids` (of `collection`), for those an
    /// import has written.
    pub async fn import_marks(
        &self,
        collection: &str,
        ids: &[Uuid],
    ) -> StoreResult<HashMap<Uuid, u64>> {
        let mut marks = HashMap::new();
        for chunk in ids.chunks(CHUNK) {
            let select = Query::select()
                .columns(["record_id", "version"])
                .from("import_marks")
                .and_where(Expr::col("collection").eq(collection))
                .and_where(Expr::col("record_id").is_in(chunk.iter().copied()))
                .to_owned();
            for row in self.db.query_all(&select).await? {
                let id: Uuid = row.try_get("", "record_id")?;
                let version: i64 = row.try_get("", "version")?;
                marks.insert(id, u64::try_from(version).unwrap_or(0));
            }
        }
        Ok(marks)
    }

    /// Records that an import wrote each record of `marks` at its version.
    pub async fn set_import_marks(
        &self,
        tenant_id: TenantId,
        collection: &str,
        marks: &[(Uuid, u64)],
    ) -> StoreResult<()> {
        for chunk in marks.chunks(CHUNK) {
            let mut insert = Query::insert()
                .into_table("import_marks")
                .columns(["collection", "record_id", "tenant_id", "version"])
                .on_conflict(
                    OnConflict::columns(["collection", "record_id"])
                        .update_column("version")
                        .to_owned(),
                )
                .to_owned();
            for (id, version) in chunk {
                insert
                    .values([
                        collection.into(),
                        (*id).into(),
                        tenant_id.uuid().into(),
                        i64::try_from(*version).unwrap_or(i64::MAX).into(),
                    ])
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            }
            self.db.execute(&insert).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    async fn store(dir: &std::path::Path) -> Store {
        let url = format!("sqlite://{}?mode=rwc", dir.join("t.db").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        store
    }

    #[tokio::test]
    async fn an_import_lease_is_held_by_one_until_given_back_or_run_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path()).await;
        let (unit, other_unit) = (Uuid::now_v7(), Uuid::now_v7());
        let now = Utc::now();
        let later = now + chrono::Duration::minutes(5);
        assert!(
            store
                .take_import_lease(unit, "a", now, later)
                .await
                .unwrap()
        );
        // Held: neither another holder nor the same one again takes it; another unit is free.
        assert!(
            !store
                .take_import_lease(unit, "b", now, later)
                .await
                .unwrap()
        );
        assert!(
            !store
                .take_import_lease(unit, "a", now, later)
                .await
                .unwrap()
        );
        assert!(
            store
                .take_import_lease(other_unit, "b", now, later)
                .await
                .unwrap()
        );
        // Only its holder gives it back.
        store.release_import_lease(unit, "b").await.unwrap();
        assert!(
            !store
                .take_import_lease(unit, "b", now, later)
                .await
                .unwrap()
        );
        store.release_import_lease(unit, "a").await.unwrap();
        assert!(
            store
                .take_import_lease(unit, "b", now, later)
                .await
                .unwrap()
        );
        // Renewed only by its holder.
        assert!(!store.renew_import_lease(unit, "a", later).await.unwrap());
        assert!(store.renew_import_lease(unit, "b", later).await.unwrap());
        // An instance's own leases are given back together, and no other's.
        store.release_import_lease(other_unit, "b").await.unwrap();
        assert!(
            store
                .take_import_lease(other_unit, "i1/x", now, later)
                .await
                .unwrap()
        );
        assert_eq!(store.release_import_leases_of("i2/").await.unwrap(), 0);
        assert_eq!(store.release_import_leases_of("i1/").await.unwrap(), 1);
        assert!(
            store
                .take_import_lease(other_unit, "i2/y", now, later)
                .await
                .unwrap()
        );
        // A lease that ran out is taken over.
        let after = later + chrono::Duration::seconds(1);
        assert!(
            store
                .take_import_lease(unit, "c", after, after + chrono::Duration::minutes(5))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn import_marks_are_kept_per_record_and_moved_forward() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path()).await;
        let tenant = TenantId::new(Uuid::now_v7());
        let ids: Vec<Uuid> = (0..1200).map(|_| Uuid::now_v7()).collect();
        let marks: Vec<(Uuid, u64)> = ids.iter().map(|id| (*id, 7)).collect();
        store
            .set_import_marks(tenant, "members", &marks)
            .await
            .unwrap();
        store
            .set_import_marks(tenant, "members", &[(ids[3], 42)])
            .await
            .unwrap();
        let read = store.import_marks("members", &ids).await.unwrap();
        assert_eq!(read.len(), 1200);
        assert_eq!(read[&ids[3]], 42);
        assert_eq!(read[&ids[1100]], 7);
        assert!(
            store
                .import_marks("transfers", &ids)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
