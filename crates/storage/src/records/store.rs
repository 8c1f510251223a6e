//! The store's queries of records: pages of changes for pull, checksums, live records, the
//! conflict log, the change log and members' search.

use crate::{Store, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use paicha_domain::collection::Collection;
use paicha_domain::ids::TenantId;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseTransaction, IsolationLevel, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::*;

impl Store {
    /// Begins a push for `tenant_id`, taking the tenant's write lock.
    pub async fn begin_sync(&self, tenant_id: TenantId) -> StoreResult<SyncTxn> {
        let txn = self
            .db
            .begin_with_options(TransactionOptions {
                isolation_level: None,
                access_mode: None,
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            })
            .await?;
        // A no-op write takes the row lock (on SQLite the database write lock) before reading.
        let lock = Query::update()
            .table("sync_tenants")
            .value("version", Expr::col("version"))
            .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
            .to_owned();
        if txn.execute(&lock).await?.rows_affected() == 0 {
            // The tenant's first write: its row is made here (or by a write racing this one,
            // which this waits for), then locked. Only then: an insert that finds the row
            // waits for the lock of whoever holds it, so one made before every write waited
            // for the other instance's transaction twice (docs/benchmarks.md, results of 2026-11-29, commit 0010edb).
            let insert = Query::insert()
                .into_table("sync_tenants")
                .columns(["tenant_id", "version", "last_hash"])
                .values([tenant_id.uuid().into(), 0i64.into(), GENESIS_HASH.into()])
                .map_err(|e| StoreError::Corrupt(e.to_string()))?
                .on_conflict(OnConflict::column("tenant_id").do_nothing().to_owned())
                .to_owned();
            txn.execute(&insert).await?;
            txn.execute(&lock).await?;
        }
        if self.engine == crate::Engine::Postgres {
            // Every read of a push is by key: a table nobody has analysed yet (a tenant's
            // first large import) would otherwise be scanned whole for each batch's records.
            txn.execute_unprepared("SET LOCAL enable_seqscan = off")
                .await?;
        }
        let select = Query::select()
            .columns(["version", "last_hash"])
            .from("sync_tenants")
            .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
            .to_owned();
        let row = txn.query_one(&select).await?.ok_or(StoreError::NotFound)?;
        Ok(SyncTxn {
            tenant_id,
            version: to_u64(row.try_get("", "version")?),
            last_hash: row.try_get("", "last_hash")?,
            txn,
            engine: self.engine,
        })
    }

    /// A read-only transaction on one snapshot (REPEATABLE READ on PostgreSQL), with the
    /// tenant's last committed version and purge horizon as that snapshot sees them.
    async fn snapshot(&self, tenant_id: TenantId) -> StoreResult<(DatabaseTransaction, u64, u64)> {
        self.snapshot_noting_start(tenant_id, || {}).await
    }

    /// [`Store::snapshot`], calling `on_start` once the transaction has its connection and
    /// before its first read, which is what fixes the snapshot (on both databases).
    async fn snapshot_noting_start(
        &self,
        tenant_id: TenantId,
        on_start: impl FnOnce() + Send,
    ) -> StoreResult<(DatabaseTransaction, u64, u64)> {
        let txn = self
            .db
            .begin_with_options(TransactionOptions {
                // SQLite's read transactions are snapshots already (and it has no such
                // setting: asking for one only logs a warning).
                isolation_level: (self.engine == crate::Engine::Postgres)
                    .then_some(IsolationLevel::RepeatableRead),
                access_mode: (self.engine == crate::Engine::Postgres)
                    .then_some(AccessMode::ReadOnly),
                sqlite_transaction_mode: None,
            })
            .await?;
        on_start();
        let counter = Query::select()
            .columns(["version", "purged_through"])
            .from("sync_tenants")
            .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
            .to_owned();
        let (version, purged_through) = match txn.query_one(&counter).await? {
            Some(row) => (
                to_u64(row.try_get("", "version")?),
                to_u64(row.try_get("", "purged_through")?),
            ),
            None => (0, 0),
        };
        Ok((txn, version, purged_through))
    }

    /// One page of the changes in `scope` after version `after`, in version order, read from
    /// one snapshot. Because a tenant's versions commit in order (see [`SyncTxn`]), the
    /// changes visible in a snapshot are exactly those up to some version: a page never skips
    /// one that a later page could still bring.
    pub async fn pull_page(
        &self,
        scope: Scope<'_>,
        collections: &[Collection],
        after: u64,
        limit: u64,
    ) -> StoreResult<PullPage> {
        self.pull_page_noting_start(scope, collections, after, limit, || {})
            .await
    }

    /// [`Store::pull_page`], calling `on_start` when the page's snapshot is about to be taken:
    /// after the wait for a connection, before the first read. A commit made before `on_start`
    /// is called is in the page's snapshot.
    pub async fn pull_page_noting_start(
        &self,
        scope: Scope<'_>,
        collections: &[Collection],
        after: u64,
        limit: u64,
        on_start: impl FnOnce() + Send,
    ) -> StoreResult<PullPage> {
        let (txn, snapshot_version, purged_through) = self
            .snapshot_noting_start(scope.tenant_id, on_start)
            .await?;
        let mut changes = Vec::new();
        // Records leave a scope rarely (a member moved, a transfer re-addressed): the
        // departures are read only when the tenant has any after the cursor.
        let departures = departures_after(&txn, scope.tenant_id(), after).await?;
        let units = units_reached(&txn, scope).await?;
        let reach = units.as_deref().map_or(Reach::Tenant, Reach::Units);
        let statements = page_statements(
            self.engine,
            scope,
            reach,
            collections,
            after,
            limit,
            departures,
        );
        if !statements.is_empty() {
            self.plan_pull_page(&txn, reach).await?;
        }
        for select in &statements {
            for row in txn.query_all(select).await? {
                let name: String = row.try_get("", "collection")?;
                changes.push(ChangeRow {
                    collection: Collection::parse(&name)
                        .ok_or_else(|| StoreError::Corrupt(format!("collection {name}")))?,
                    id: row.try_get("", "id")?,
                    org_unit_id: UnitId::new(row.try_get("", "org_unit_id")?),
                    version: to_u64(row.try_get("", "version")?),
                    deleted: row.try_get("", "deleted")?,
                    fields: raw_object(row.try_get("", "fields")?)?,
                });
            }
        }
        txn.commit().await?;
        let mut changes = merge_page(changes, statements.len(), limit);
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let has_more = changes.len() > limit;
        changes.truncate(limit);
        Ok(PullPage {
            changes,
            has_more,
            snapshot_version,
            purged_through,
        })
    }

    /// On PostgreSQL, for the rest of `txn`, the plan of a pull page whatever the tables'
    /// statistics say.
    ///
    /// - Reached through the tenant ([`Reach::Tenant`]): no bitmap scans and no sorts (where
    ///   another plan exists), so that each collection's `(tenant_id, version)` index is walked
    ///   in order and the walk stops at the limit. Without this, a table nobody has analysed yet
    ///   (a roster imported a minute ago: `reltuples = -1`) is estimated at one row, and the
    ///   planner reads every row after the cursor through a bitmap scan and sorts them for each
    ///   page: a pull of 100,000 members became quadratic until autovacuum got to the table
    ///   (docs/benchmarks.md, results of 2026-11-29, commit bdbb682).
    /// - Reached through units ([`Reach::Units`]): no bitmap scans and no sequential scans, so
    ///   the units' entries of the `(org_unit_id, version)` and `(addressee_id, version)`
    ///   indexes are read from the cursor on; what several units hold is then sorted (at most
    ///   what the scope holds after the cursor).
    async fn plan_pull_page(&self, txn: &DatabaseTransaction, reach: Reach<'_>) -> StoreResult<()> {
        if self.engine == crate::Engine::Postgres {
            txn.execute_unprepared(match reach {
                Reach::Tenant => "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off",
                Reach::Units(_) => {
                    "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off"
                }
            })
            .await?;
        }
        Ok(())
    }

    /// The plan the database chooses for a pull page (`EXPLAIN` on PostgreSQL, `EXPLAIN QUERY
    /// PLAN` on SQLite), one line per row, made as [`Store::pull_page`] makes it: for tests
    /// that hold the plan to the index walk.
    #[doc(hidden)]
    pub async fn explain_pull_page(
        &self,
        scope: Scope<'_>,
        collections: &[Collection],
        after: u64,
        limit: u64,
    ) -> StoreResult<Vec<String>> {
        let (txn, _, _) = self.snapshot(scope.tenant_id).await?;
        let units = units_reached(&txn, scope).await?;
        let reach = units.as_deref().map_or(Reach::Tenant, Reach::Units);
        let statements =
            page_statements(self.engine, scope, reach, collections, after, limit, false);
        self.plan_pull_page(&txn, reach).await?;
        let lines = self.explain(&txn, &statements).await?;
        txn.commit().await?;
        Ok(lines)
    }

    /// The plans the database chooses for `statements` in `txn`, one line per row of its
    /// answer (`EXPLAIN` on PostgreSQL, `EXPLAIN QUERY PLAN` on SQLite).
    pub(super) async fn explain(
        &self,
        txn: &DatabaseTransaction,
        statements: &[sea_orm::sea_query::SelectStatement],
    ) -> StoreResult<Vec<String>> {
        let backend = txn.get_database_backend();
        let mut lines = Vec::new();
        for select in statements {
            let statement = backend.build(select);
            let explain = sea_orm::Statement {
                sql: match self.engine {
                    crate::Engine::Postgres => format!("EXPLAIN {}", statement.sql),
                    crate::Engine::Sqlite => format!("EXPLAIN QUERY PLAN {}", statement.sql),
                },
                ..statement
            };
            for row in txn.query_all_raw(explain).await? {
                lines.push(match self.engine {
                    crate::Engine::Postgres => row.try_get_by_index::<String>(0)?,
                    crate::Engine::Sqlite => row.try_get::<String>("", "detail")?,
                });
            }
        }
        Ok(lines)
    }

    /// `(id, version)` of every live record of each collection in `scope`, read from one
    /// snapshot, with the tenant's version in that snapshot.
    pub async fn checksum_snapshot(
        &self,
        scope: Scope<'_>,
        collections: &[Collection],
    ) -> StoreResult<(u64, Vec<(Collection, Vec<(Uuid, u64)>)>)> {
        let (txn, snapshot_version, _) = self.snapshot(scope.tenant_id).await?;
        let units = units_reached(&txn, scope).await?;
        let reach = units.as_deref().map_or(Reach::Tenant, Reach::Units);
        let mut out = Vec::with_capacity(collections.len());
        for &collection in collections {
            let mut versions = Vec::new();
            for condition in reach.conditions(scope, collection) {
                let select = Query::select()
                    .columns(["id", "version"])
                    .from(collection.as_str())
                    .cond_where(condition)
                    .and_where(Expr::col("deleted").eq(false))
                    .to_owned();
                for row in txn.query_all(&select).await? {
                    versions.push((row.try_get("", "id")?, to_u64(row.try_get("", "version")?)));
                }
            }
            out.push((collection, versions));
        }
        txn.commit().await?;
        Ok((snapshot_version, out))
    }

    /// Notes that a device has every change up to `cursor` (the cursor it pulls from).
    pub async fn record_device_cursor(
        &self,
        user_id: Uuid,
        device_id: &str,
        tenant_id: TenantId,
        cursor: u64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let upsert = Query::insert()
            .into_table("sync_devices")
            .columns([
                "user_id",
                "device_id",
                "tenant_id",
                "last_cursor",
                "last_seen_at",
            ])
            .values([
                user_id.into(),
                device_id.into(),
                tenant_id.uuid().into(),
                to_i64(cursor).into(),
                now.into(),
            ])
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .on_conflict(
                OnConflict::columns(["user_id", "device_id"])
                    .update_columns(["tenant_id", "last_cursor", "last_seen_at"])
                    .to_owned(),
            )
            .to_owned();
        self.db.execute(&upsert).await?;
        Ok(())
    }

    /// The devices of a tenant: last acknowledged cursor and when they were last seen.
    pub async fn device_cursors(
        &self,
        tenant_id: TenantId,
    ) -> StoreResult<Vec<(u64, DateTime<Utc>)>> {
        let select = Query::select()
            .columns(["last_cursor", "last_seen_at"])
            .from("sync_devices")
            .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
            .to_owned();
        self.db
            .query_all(&select)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    to_u64(row.try_get("", "last_cursor")?),
                    row.try_get("", "last_seen_at")?,
                ))
            })
            .collect()
    }

    /// The furthest cursor acknowledged by any device of a user of each unit: what each unit
    /// has received.
    pub async fn unit_cursors(&self, tenant_id: TenantId) -> StoreResult<Vec<(UnitId, u64)>> {
        let select = Query::select()
            .column(("users", "org_unit_id"))
            .expr_as(Expr::col(("sync_devices", "last_cursor")).max(), "cursor")
            .from("sync_devices")
            .inner_join(
                "users",
                Expr::col(("users", "id")).equals(("sync_devices", "user_id")),
            )
            .and_where(Expr::col(("sync_devices", "tenant_id")).eq(tenant_id.uuid()))
            .and_where(Expr::col(("users", "org_unit_id")).is_not_null())
            .group_by_col(("users", "org_unit_id"))
            .to_owned();
        self.db
            .query_all(&select)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    UnitId::new(row.try_get("", "org_unit_id")?),
                    to_u64(row.try_get("", "cursor")?),
                ))
            })
            .collect()
    }

    /// The last version above `after` that a tenant committed before `before`, from the audit
    /// trail's times; `after` when there is none.
    ///
    /// Versions are committed in the order of time, so both reads walk the `(tenant_id,
    /// version)` index and stop early: when the first version above `after` is not older than
    /// `before`, none later is (a tenant whose changes are all recent costs one entry); else the
    /// walk goes back from the newest version to the first that is older (the recent ones
    /// only). A reading of every entry's time (the `MAX` it replaced) cost a second of the
    /// database's time per million changes at every housekeeping. Were a clock ever to step
    /// back, the answer could only be lower: tombstones kept longer, none purged early.
    pub async fn version_before(
        &self,
        tenant_id: TenantId,
        before: DateTime<Utc>,
        after: u64,
    ) -> StoreResult<u64> {
        let tenant = tenant_id.uuid();
        let first = Query::select()
            .columns(["version", "server_time"])
            .from("change_log")
            .and_where(Expr::col("tenant_id").eq(tenant))
            .and_where(Expr::col("version").gt(to_i64(after)))
            .order_by("version", Order::Asc)
            .limit(1)
            .to_owned();
        let Some(row) = self.db.query_one(&first).await? else {
            return Ok(after);
        };
        let at: DateTime<Utc> = row.try_get("", "server_time")?;
        if at >= before {
            return Ok(after);
        }
        let last = Query::select()
            .column("version")
            .from("change_log")
            .and_where(Expr::col("tenant_id").eq(tenant))
            .and_where(Expr::col("version").gt(to_i64(after)))
            .and_where(Expr::col("server_time").lt(before))
            .order_by("version", Order::Desc)
            .limit(1)
            .to_owned();
        Ok(match self.db.query_one(&last).await? {
            Some(row) => Ord::max(to_u64(row.try_get("", "version")?), after),
            None => after,
        })
    }

    /// The latest `limit` departures the scope sees ([`super::Departure`]: records that left
    /// a path it covers and that it does not see now), the latest first.
    pub async fn departures(&self, scope: Scope<'_>, limit: u64) -> StoreResult<Vec<Departure>> {
        let mut found = Vec::new();
        for collection in Collection::ALL {
            if collection == Collection::Campaigns {
                continue;
            }
            let select = scope
                .departures_seen(collection)
                .columns([
                    ("d", "record_id"),
                    ("d", "path"),
                    ("d", "org_unit_id"),
                    ("d", "version"),
                    ("d", "to_unit_id"),
                    ("d", "reason"),
                    ("d", "label"),
                    ("d", "left_at"),
                ])
                .order_by(("d", "version"), Order::Desc)
                .limit(limit)
                .to_owned();
            for row in self.db.query_all(&select).await? {
                found.push(Departure {
                    tenant_id: scope.tenant_id(),
                    collection,
                    record_id: row.try_get("", "record_id")?,
                    path: row.try_get("", "path")?,
                    org_unit_id: UnitId::new(row.try_get("", "org_unit_id")?),
                    version: to_u64(row.try_get("", "version")?),
                    to_unit_id: row
                        .try_get::<Option<Uuid>>("", "to_unit_id")?
                        .map(UnitId::new),
                    reason: row.try_get("", "reason")?,
                    label: row.try_get("", "label")?,
                    left_at: row.try_get("", "left_at")?,
                });
            }
        }
        found.sort_by_key(|d| std::cmp::Reverse(d.version));
        found.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(found)
    }

    /// Deletes a tenant's tombstones (and departures) up to `through` and records, in the same
    /// transaction (a pull sees both or neither), that cursors below the highest one deleted
    /// can no longer be served. Only what was deleted moves that mark: a purge that took
    /// nothing leaves every cursor usable (a paged pull from the start, a new phone's first
    /// sync, continues past it), and a cursor is refused only when a tombstone after it is gone.
    ///
    /// Only versions above the tenant's sweep mark (`swept_through`, the highest `through` a
    /// purge has run to) are read: a deletion always writes a version above every one before,
    /// so none is left below it.
    pub async fn purge_tombstones(&self, tenant_id: TenantId, through: u64) -> StoreResult<u64> {
        let txn = self.db.begin().await?;
        let mark = Query::select()
            .column("swept_through")
            .from("sync_tenants")
            .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
            .to_owned();
        let swept = match txn.query_one(&mark).await? {
            Some(row) => to_u64(row.try_get("", "swept_through")?),
            None => 0,
        };
        if through <= swept {
            txn.commit().await?;
            return Ok(0);
        }
        let mut purged = 0;
        let mut highest: u64 = 0;
        let tables = Collection::ALL
            .iter()
            .map(|c| (c.as_str(), true))
            // A departure is a tombstone of the scope the record left.
            .chain([("sync_departures", false)]);
        for (table, tombstones_only) in tables {
            let mut gone = Query::select()
                .expr(Expr::col("version").max())
                .from(table)
                .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
                .and_where(Expr::col("version").gt(to_i64(swept)))
                .and_where(Expr::col("version").lte(to_i64(through)))
                .to_owned();
            let mut delete = Query::delete()
                .from_table(table)
                .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
                .and_where(Expr::col("version").gt(to_i64(swept)))
                .and_where(Expr::col("version").lte(to_i64(through)))
                .to_owned();
            if tombstones_only {
                gone.and_where(Expr::col("deleted").eq(true));
                delete.and_where(Expr::col("deleted").eq(true));
            }
            if let Some(row) = txn.query_one(&gone).await?
                && let Some(version) = row.try_get_by_index::<Option<i64>>(0)?
            {
                highest = Ord::max(highest, to_u64(version));
            }
            purged += txn.execute(&delete).await?.rows_affected();
        }
        let update = Query::update()
            .table("sync_tenants")
            .value("purged_through", to_i64(highest))
            .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
            .and_where(Expr::col("purged_through").lt(to_i64(highest)))
            .to_owned();
        txn.execute(&update).await?;
        let sweep = Query::update()
            .table("sync_tenants")
            .value("swept_through", to_i64(through))
            .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
            .to_owned();
        txn.execute(&sweep).await?;
        txn.commit().await?;
        Ok(purged)
    }

    /// Every record of the tenant in `collections` changed after version `after` (all of them
    /// for 0), tombstones included, read from one snapshot and handed to `each` as it is read,
    /// [`FACT_PAGE`] rows at a time: the status read model's load, in memory that does not grow
    /// with the tenant (a million members were held at once before: docs/benchmarks.md, issue
    /// #23 item 5). Answers the snapshot's version and the tombstone horizon
    /// ([`TenantChanges`]).
    pub async fn tenant_changes(
        &self,
        tenant_id: TenantId,
        collections: &[Collection],
        after: u64,
        mut each: impl FnMut(FactRow) + Send,
    ) -> StoreResult<TenantChanges> {
        let (txn, snapshot_version, purged_through) = self.snapshot(tenant_id).await?;
        // Each page a walk of the `(tenant_id, version)` index from where the last ended, as a
        // pull's, whatever the statistics of a table just loaded say.
        self.plan_pull_page(&txn, Reach::Tenant).await?;
        for &collection in collections {
            // A record counts for its addressee (a transfer for its branch), but a member for
            // the branch holding him: the branch he is proposed to move to counts him only
            // once it has taken him (paicha_domain::moves).
            let count_path = if collection == Collection::Members {
                "owner_path"
            } else {
                "COALESCE(addressee_path, owner_path)"
            };
            let mut from = after;
            loop {
                let mut select = Query::select()
                    .columns(["id", "version", "deleted", "fields"])
                    .expr_as(Expr::cust(count_path), "count_path")
                    .from(collection.as_str())
                    .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
                    .and_where(Expr::col("version").gt(to_i64(from)))
                    .order_by("version", Order::Asc)
                    .limit(FACT_PAGE)
                    .to_owned();
                if after == 0 {
                    // A first load has no use for tombstones.
                    select.and_where(Expr::col("deleted").eq(false));
                }
                let rows = txn.query_all(&select).await?;
                let full = rows.len() as u64 == FACT_PAGE;
                for row in rows {
                    from = to_u64(row.try_get("", "version")?);
                    each(FactRow {
                        collection,
                        id: row.try_get("", "id")?,
                        path: row.try_get("", "count_path")?,
                        deleted: row.try_get("", "deleted")?,
                        fields: object(row.try_get("", "fields")?),
                    });
                }
                if !full {
                    break;
                }
            }
        }
        txn.commit().await?;
        Ok(TenantChanges {
            snapshot_version,
            purged_through,
        })
    }

    /// The live records of `collection` in `scope`, whole, oldest first.
    pub async fn live_rows(
        &self,
        scope: Scope<'_>,
        collection: Collection,
    ) -> StoreResult<Vec<RecordRow>> {
        load_live_rows(&self.db, scope, collection).await
    }

    /// The live records of `collection` in `scope`, oldest first: (id, owning unit, fields).
    pub async fn live_records(
        &self,
        scope: Scope<'_>,
        collection: Collection,
    ) -> StoreResult<Vec<(Uuid, UnitId, Map<String, Value>)>> {
        self.db
            .query_all(&live_select(
                scope,
                collection,
                &["id", "org_unit_id", "fields"],
            ))
            .await?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get("", "id")?,
                    UnitId::new(row.try_get("", "org_unit_id")?),
                    object(row.try_get("", "fields")?),
                ))
            })
            .collect()
    }

    /// A record by id, in any tenant: callers apply the scope.
    pub async fn record(&self, collection: Collection, id: Uuid) -> StoreResult<Option<RecordRow>> {
        load_record(&self.db, collection, id).await
    }

    /// The audit entries of one record, oldest first.
    pub async fn record_history(
        &self,
        tenant_id: TenantId,
        collection: Collection,
        id: Uuid,
    ) -> StoreResult<Vec<ChangeEntry>> {
        let select = Query::select()
            .columns(CHANGE_COLUMNS)
            .from("change_log")
            .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
            .and_where(Expr::col("collection").eq(collection.as_str()))
            .and_where(Expr::col("record_id").eq(id))
            .order_by("version", Order::Asc)
            .to_owned();
        self.db
            .query_all(&select)
            .await?
            .iter()
            .map(decode_change)
            .collect()
    }

    /// A tenant's audit entries after `after`, in chain order, for verification.
    pub async fn change_log_page(
        &self,
        tenant_id: TenantId,
        after: u64,
        limit: u64,
    ) -> StoreResult<Vec<ChangeEntry>> {
        self.change_entries(tenant_id, None, after, limit).await
    }

    /// A tenant's audit entries after `after`, in chain order, at most `limit`; only those on
    /// records `under` covers, when given.
    pub(crate) async fn change_entries(
        &self,
        tenant_id: TenantId,
        under: Option<Scope<'_>>,
        after: u64,
        limit: u64,
    ) -> StoreResult<Vec<ChangeEntry>> {
        let mut select = Query::select()
            .columns(CHANGE_COLUMNS)
            .from("change_log")
            .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
            .and_where(Expr::col("version").gt(to_i64(after)))
            .order_by("version", Order::Asc)
            .limit(limit)
            .to_owned();
        if let Some(scope) = under {
            select.and_where(scope.covers_column("owner_path"));
        }
        self.db
            .query_all(&select)
            .await?
            .iter()
            .map(decode_change)
            .collect()
    }

    /// Every tenant that has synced, with its last version and last audit hash.
    pub async fn sync_tenants(&self) -> StoreResult<Vec<(TenantId, u64, String)>> {
        let select = Query::select()
            .columns(["tenant_id", "version", "last_hash"])
            .from("sync_tenants")
            .order_by("tenant_id", Order::Asc)
            .to_owned();
        self.db
            .query_all(&select)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    TenantId::new(row.try_get("", "tenant_id")?),
                    to_u64(row.try_get("", "version")?),
                    row.try_get("", "last_hash")?,
                ))
            })
            .collect()
    }

    /// Conflicts in `scope`, optionally of one record, optionally only unresolved ones, newest
    /// first.
    pub async fn conflicts(
        &self,
        scope: Scope<'_>,
        record: Option<(Collection, Uuid)>,
        unresolved_only: bool,
        limit: u64,
    ) -> StoreResult<Vec<ConflictRow>> {
        let mut select = Query::select()
            .columns(CONFLICT_COLUMNS)
            .from("sync_conflicts")
            .cond_where(scope.condition_any())
            .order_by("created_at", Order::Desc)
            .limit(limit)
            .to_owned();
        if let Some((collection, id)) = record {
            select
                .and_where(Expr::col("collection").eq(collection.as_str()))
                .and_where(Expr::col("record_id").eq(id));
        }
        if unresolved_only {
            select.and_where(Expr::col("resolved_at").is_null());
        }
        self.db
            .query_all(&select)
            .await?
            .iter()
            .map(decode_conflict)
            .collect()
    }

    pub async fn conflict(&self, id: Uuid) -> StoreResult<Option<ConflictRow>> {
        let select = Query::select()
            .columns(CONFLICT_COLUMNS)
            .from("sync_conflicts")
            .and_where(Expr::col("id").eq(id))
            .to_owned();
        self.db
            .query_one(&select)
            .await?
            .as_ref()
            .map(decode_conflict)
            .transpose()
    }

    pub async fn resolve_conflict(
        &self,
        id: Uuid,
        by: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let update = Query::update()
            .table("sync_conflicts")
            .value("resolved_at", now)
            .value("resolved_by", by)
            .and_where(Expr::col("id").eq(id))
            .and_where(Expr::col("resolved_at").is_null())
            .to_owned();
        self.db.execute(&update).await?;
        Ok(())
    }
}

/// Whether the tenant has a departure ([`super::Departure`]) after version `after`.
/// The units a pull page of `scope` reads through ([`Reach`]): none for the committee (the
/// whole tenant), else the ids of the scope's units, read in the page's snapshot.
async fn units_reached(
    txn: &DatabaseTransaction,
    scope: Scope<'_>,
) -> StoreResult<Option<Vec<Uuid>>> {
    if scope.is_tenant_root() {
        return Ok(None);
    }
    let rows = txn.query_all(&scope.units_select()).await?;
    let ids = rows
        .iter()
        .map(|row| row.try_get("", "id"))
        .collect::<Result<Vec<Uuid>, _>>()?;
    Ok(Some(ids))
}

async fn departures_after(
    txn: &DatabaseTransaction,
    tenant_id: TenantId,
    after: u64,
) -> StoreResult<bool> {
    let select = Query::select()
        .expr(Expr::val(1))
        .from("sync_departures")
        .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
        .and_where(Expr::col("version").gt(to_i64(after)))
        .limit(1)
        .to_owned();
    Ok(txn.query_one(&select).await?.is_some())
}
