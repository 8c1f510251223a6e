//! The members' list and search ([`Store::search_members`]): a page of a unit's members by
//! name or ID number and verification state, and its total, read through the list's index, the
//! name index ([`super::names`]) and the tenant's count of live members.

use paicha_domain::collection::Collection;
use paicha_domain::ids::UnitId;
use sea_orm::sea_query::{Cond, Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DatabaseTransaction, TransactionTrait};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::names::Probe;
use super::{MemberSearch, Scope, object, to_u64};
use crate::{Store, StoreResult};

impl Store {
    /// Live members in `scope` whose name contains `text`, or whose 公民身份号码 starts with it
    /// (upper-cased; with `id_prefix` false, only the whole number matches), optionally with
    /// one `roster_status` (`"unverified"` also matches members that have none yet), ordered by
    /// name, only those of `ids` when it is not empty: one page of them after `offset`, and how
    /// many match in all. Each as (id, owning unit, version, fields).
    pub async fn search_members(
        &self,
        scope: Scope<'_>,
        search: MemberSearch<'_>,
    ) -> StoreResult<(u64, Vec<(Uuid, UnitId, u64, Map<String, Value>)>)> {
        let txn = self.db.begin().await?;
        let (total, page) = self.member_search(&txn, scope, search).await?;
        let total = match total {
            Total::Known(total) => total,
            Total::Count(count) => match txn.query_one(&*count).await? {
                Some(row) => u64::try_from(row.try_get::<i64>("", "n")?).unwrap_or(0),
                None => 0,
            },
        };
        let rows = txn.query_all(&page).await?;
        txn.commit().await?;
        let rows = rows
            .iter()
            .map(|row| {
                Ok((
                    row.try_get("", "id")?,
                    UnitId::new(row.try_get("", "org_unit_id")?),
                    to_u64(row.try_get("", "version")?),
                    object(row.try_get("", "fields")?),
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((total, rows))
    }

    /// The plans the database chooses for [`Store::search_members`]'s statements (the count
    /// when it runs one, then the page), as [`Store::explain_pull_page`] gives them: for tests
    /// that hold the committee's list to its index.
    #[doc(hidden)]
    pub async fn explain_member_search(
        &self,
        scope: Scope<'_>,
        search: MemberSearch<'_>,
    ) -> StoreResult<Vec<String>> {
        let txn = self.db.begin().await?;
        let (total, page) = self.member_search(&txn, scope, search).await?;
        let statements = match total {
            Total::Known(_) => vec![page],
            Total::Count(count) => vec![*count, page],
        };
        let lines = self.explain(&txn, &statements).await?;
        txn.commit().await?;
        Ok(lines)
    }

    /// [`Store::search_members`]'s total (or the statement that counts it) and page in `txn`.
    async fn member_search(
        &self,
        txn: &DatabaseTransaction,
        scope: Scope<'_>,
        search: MemberSearch<'_>,
    ) -> StoreResult<(Total, SelectStatement)> {
        let probe = self.name_probe(txn, scope, search).await?;
        if let Some((first, total)) = self
            .one_character(txn, scope, search, probe.as_ref())
            .await?
        {
            return Ok((
                Total::Known(total),
                one_character_page(scope, first, search),
            ));
        }
        self.plan_member_list(txn, scope, search).await?;
        let (count, page) = self.member_search_statements(scope, search, probe.as_ref());
        Ok((Total::Count(Box::new(count)), page))
    }

    /// A search of the whole tenant by one character that is not an ASCII letter or digit (a
    /// surname: 王 is held by one member in fifteen): the character, and how many match, read
    /// from the name index alone instead of reading every match (its page too:
    /// [`one_character_page`]). `None` for any other search.
    ///
    /// The count is exact: every character of a live member's name begins one of its grams,
    /// and only live members have grams. An ASCII letter is left out (PostgreSQL's `LIKE` tells its
    /// cases apart, the grams do not), and so is a digit or `X` (an ID number may begin with
    /// it).
    async fn one_character(
        &self,
        txn: &DatabaseTransaction,
        scope: Scope<'_>,
        search: MemberSearch<'_>,
        probe: Option<&Probe>,
    ) -> StoreResult<Option<(char, u64)>> {
        let Some(&Probe::Begins(c)) = probe else {
            return Ok(None);
        };
        if !scope.is_tenant_root()
            || search.roster_status.is_some()
            || !search.ids.is_empty()
            || c.is_ascii_alphanumeric()
        {
            return Ok(None);
        }
        let count = super::names::begins_count(scope.tenant_id(), c);
        let total = match txn.query_one(&count).await? {
            Some(row) => u64::try_from(row.try_get::<i64>("", "n")?).unwrap_or(0),
            None => 0,
        };
        Ok(Some((c, total)))
    }

    /// On PostgreSQL, for the rest of `txn`: the committee's list without a text to search
    /// walks the live members' index in its order (no bitmap scan, no sort), whatever the
    /// statistics say. A table not analysed yet (a roster imported a minute ago) is estimated
    /// at a few rows, and the planner read and sorted every member of the tenant for a page.
    async fn plan_member_list(
        &self,
        txn: &DatabaseTransaction,
        scope: Scope<'_>,
        search: MemberSearch<'_>,
    ) -> StoreResult<()> {
        let text = search.text.map(str::trim).filter(|t| !t.is_empty());
        if self.engine == crate::Engine::Postgres && scope.is_tenant_root() && text.is_none() {
            txn.execute_unprepared(
                "SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off",
            )
            .await?;
        }
        Ok(())
    }

    /// How the name index is to find the members `search`'s text may name: of a text's pairs,
    /// the one held by the fewest members of the tenant (counted up to a thousand each), with
    /// the next fewest when the first is that common. `None` without a text.
    async fn name_probe(
        &self,
        txn: &DatabaseTransaction,
        scope: Scope<'_>,
        search: MemberSearch<'_>,
    ) -> StoreResult<Option<Probe>> {
        const CAP: u64 = 1_000;
        let Some(text) = search.text.map(str::trim).filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        let pairs = match Probe::of(text) {
            Some(Probe::Pairs(pairs)) if pairs.len() > 1 => pairs,
            one => return Ok(one),
        };
        let mut counted = Vec::with_capacity(pairs.len());
        for pair in pairs {
            let select = super::names::postings(scope.tenant_id(), &pair, CAP);
            let n: i64 = match txn.query_one(&select).await? {
                Some(row) => row.try_get("", "n")?,
                None => 0,
            };
            counted.push((n, pair));
        }
        counted.sort();
        let keep = if counted[0].0 >= i64::try_from(CAP).unwrap_or(i64::MAX) {
            2
        } else {
            1
        };
        Ok(Some(Probe::Pairs(
            counted.into_iter().take(keep).map(|(_, p)| p).collect(),
        )))
    }

    /// [`Store::search_members`]'s statements: how many match, and the page; `probe` is how the
    /// name index narrows a search with a text ([`Store::name_probe`]).
    fn member_search_statements(
        &self,
        scope: Scope<'_>,
        search: MemberSearch<'_>,
        probe: Option<&Probe>,
    ) -> (SelectStatement, SelectStatement) {
        let MemberSearch {
            text,
            id_prefix,
            roster_status,
            ids,
            limit,
            offset,
        } = search;
        let field = |name: &str| match self.engine {
            crate::Engine::Postgres => format!("(fields->>'{name}')"),
            crate::Engine::Sqlite => format!("json_extract(fields, '$.{name}')"),
        };
        // In these words, not a bound parameter: the live members' index in the list's order
        // (`idx_members_list_order`) is a partial index of `NOT deleted`.
        let mut cond = scope
            .holds_condition(Collection::Members)
            .add(Expr::cust("NOT deleted"));
        // With a text, the members the indexes find ([`super::names::candidates`]), each then
        // tested.
        let mut found = None;
        if let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) {
            // The members to test: those the name index and the ID-number index find.
            let number = field("id_number");
            let upper = text.to_uppercase();
            let by_number = match id_prefix.then(|| super::names::id_number_range(&upper)) {
                Some(Some((low, high))) => Expr::cust(number.clone())
                    .gte(low)
                    .and(Expr::cust(number).lte(high)),
                _ => Expr::cust(number).eq(upper.clone()),
            };
            if let Some(probe) = probe {
                found = Some(super::names::candidates(
                    scope.tenant_id(),
                    probe,
                    by_number,
                ));
            }
            // Each of them tested: LIKE's own characters are taken literally.
            let escaped: String = text
                .chars()
                .flat_map(|c| match c {
                    '%' | '_' | '\\' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            cond = cond.add(
                Cond::any()
                    .add(Expr::cust(field("name")).like(
                        sea_orm::sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\'),
                    ))
                    .add(if id_prefix {
                        Expr::cust(field("id_number")).like(
                            sea_orm::sea_query::LikeExpr::new(format!(
                                "{}%",
                                escaped.to_uppercase()
                            ))
                            .escape('\\'),
                        )
                    } else {
                        Expr::cust(field("id_number")).eq(text.to_uppercase())
                    }),
            );
        }
        if !ids.is_empty() {
            cond = cond.add(Expr::col("id").is_in(ids.iter().copied()));
        }
        if let Some(status) = roster_status {
            let is = Expr::cust(field("roster_status")).eq(status);
            cond = cond.add(if status == "unverified" {
                Cond::any()
                    .add(is)
                    .add(Expr::cust(field("roster_status")).is_null())
            } else {
                Cond::all().add(is)
            });
        }
        // The members found are read first, each by its key: a `CROSS JOIN`, which SQLite
        // never reorders (left to itself it walked the list's index over every member of the
        // tenant and tested each against the ones found); PostgreSQL plans it as any join.
        let from = |select: &mut SelectStatement| match &found {
            Some(found) => {
                select
                    .from_subquery(found.clone(), "found")
                    .cross_join(Collection::Members.as_str())
                    .and_where(Expr::col(("found", "member_id")).equals("id"));
            }
            None => {
                select.from(Collection::Members.as_str());
            }
        };
        // Every live member of the tenant: the count the push keeps, not a count of them all.
        let has_text = text.map(str::trim).is_some_and(|t| !t.is_empty());
        let count =
            if scope.is_tenant_root() && !has_text && ids.is_empty() && roster_status.is_none() {
                Query::select()
                    .expr_as(Expr::col("live_members"), "n")
                    .from("sync_tenants")
                    .and_where(Expr::col("tenant_id").eq(scope.tenant_id().uuid()))
                    .to_owned()
            } else {
                let mut count = Query::select()
                    .expr_as(Expr::cust("COUNT(*)"), "n")
                    .cond_where(cond.clone())
                    .to_owned();
                from(&mut count);
                count
            };
        let mut page = Query::select();
        from(&mut page);
        let page = page
            .columns(["id", "org_unit_id", "version", "fields"])
            .cond_where(cond)
            .order_by_expr(Expr::cust(field("name")), Order::Asc)
            .order_by("id", Order::Asc)
            .limit(limit)
            .offset(offset)
            .to_owned();
        (count, page)
    }
}

/// How many a search matches: known already, or counted by a statement.
enum Total {
    Known(u64),
    Count(Box<SelectStatement>),
}

/// The page of a search [`Store::one_character`] counts: the members holding `first`, paged in
/// the list's order through the name index (whose grams carry the name), then each read by its
/// key. The same members in the same order as the list's own query, which would read every one
/// of them (67,609 for 王 at a million) to sort them.
fn one_character_page(scope: Scope<'_>, first: char, search: MemberSearch<'_>) -> SelectStatement {
    let found = super::names::begins_page(scope.tenant_id(), first, search.limit, search.offset);
    // A `CROSS JOIN`, which SQLite never reorders: the page of grams first.
    Query::select()
        .columns(["id", "org_unit_id", "version", "fields"])
        .from_subquery(found, "found")
        .cross_join(Collection::Members.as_str())
        .and_where(Expr::col(("found", "member_id")).equals("id"))
        .order_by(("found", "name"), Order::Asc)
        .order_by(("found", "member_id"), Order::Asc)
        .to_owned()
}
