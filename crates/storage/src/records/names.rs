//! The index of the members' names (`member_name_grams`, migration
//! `m20261207_000050_create_member_name_grams`): what a search by a part of a name looks up
//! instead of reading every live member of the tenant.
//!
//! A name's grams are each pair of neighbouring characters and its last character alone, so
//! every character of the name begins one gram; ASCII letters are lower-cased (SQLite's `LIKE`
//! ignores their case). A text of two characters or more is found through up to three of its
//! pairs; a text of one character through the grams that begin with it. The grams only narrow
//! the search: the search's own condition on the name is tested again on every member they
//! find, so a gram too many costs a lookup and never a wrong answer.
//!
//! Each gram carries its member's whole name (migration
//! `m20261207_000090_add_name_to_member_name_grams`), so the members holding one character are
//! read in the list's order from the grams alone ([`begins_page`]).

use std::collections::BTreeSet;

use paicha_domain::ids::TenantId;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement, SimpleExpr, UnionType};
use uuid::Uuid;

/// The grams of `name`, as the table holds them.
pub fn grams(name: &str) -> BTreeSet<String> {
    let chars: Vec<char> = name.chars().map(|c| c.to_ascii_lowercase()).collect();
    (0..chars.len())
        .map(|i| chars[i..(i + 2).min(chars.len())].iter().collect())
        .collect()
}

/// A member's name and the grams it is indexed under.
pub(crate) type NameGrams<'a> = (&'a str, BTreeSet<String>);

/// A member a transaction wrote, as the name index and the tenant's count of live members must
/// follow it: live or not before the write and after it, and its name when live (`None`: no
/// name). A member the transaction made was not live before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberChange {
    pub member_id: Uuid,
    pub before: Option<Option<String>>,
    pub after: Option<Option<String>>,
}

impl MemberChange {
    /// The grams to remove and the grams to add, each with the name they are written with: a
    /// member whose name is unchanged keeps its grams as they are, and a renamed one has every
    /// gram written again, as its name is part of each.
    pub(crate) fn diff(&self) -> (Option<NameGrams<'_>>, Option<NameGrams<'_>>) {
        fn name(state: &Option<Option<String>>) -> Option<&str> {
            state.as_ref().and_then(Option::as_deref)
        }
        let (before, after) = (name(&self.before), name(&self.after));
        if before == after {
            return (None, None);
        }
        let with_grams = |name| {
            let grams = grams(name);
            (!grams.is_empty()).then_some((name, grams))
        };
        (before.and_then(with_grams), after.and_then(with_grams))
    }

    /// What the write did to the tenant's count of live members: -1, 0 or 1.
    pub(crate) fn live_delta(&self) -> i64 {
        i64::from(self.after.is_some()) - i64::from(self.before.is_some())
    }
}

/// The code point after `c`'s (past the surrogates): the end of the range of grams that begin
/// with `c`.
fn next_char(c: char) -> Option<char> {
    (u32::from(c) + 1..=0x10FFFF).find_map(char::from_u32)
}

const GRAMS: &str = "member_name_grams";

/// How the grams find the members a text may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Probe {
    /// A text of one character: the grams that begin with it.
    Begins(char),
    /// A longer text: members holding every one of these pairs of it (at least one).
    Pairs(Vec<String>),
}

impl Probe {
    /// The probe of a search for `text`, its pairs the first, the last and one from the middle
    /// (more would cost more lookups than they save); `None` when `text` is empty.
    pub(crate) fn of(text: &str) -> Option<Self> {
        let chars: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
        if let [only] = chars[..] {
            return Some(Self::Begins(only));
        }
        let pairs: Vec<String> = chars.windows(2).map(|w| w.iter().collect()).collect();
        let mut chosen: Vec<String> = Vec::new();
        for i in [0, pairs.len() / 2, pairs.len().saturating_sub(1)] {
            if let Some(pair) = pairs.get(i)
                && !chosen.contains(pair)
            {
                chosen.push(pair.clone());
            }
        }
        (!chosen.is_empty()).then_some(Self::Pairs(chosen))
    }
}

/// Counts the members of `tenant_id` holding the gram `pair`, up to `cap`: how a search
/// chooses the pairs that narrow it most.
pub(crate) fn postings(tenant_id: TenantId, pair: &str, cap: u64) -> SelectStatement {
    let held = Query::select()
        .expr(Expr::cust("1"))
        .from(GRAMS)
        .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
        .and_where(Expr::col("gram").eq(pair))
        .limit(cap)
        .to_owned();
    Query::select()
        .expr_as(Expr::cust("COUNT(*)"), "n")
        .from_subquery(held, "p")
        .to_owned()
}

/// `select` of the grams, narrowed to those that begin with `first`.
fn begins(mut select: SelectStatement, first: char) -> SelectStatement {
    select.and_where(Expr::col("gram").gte(first.to_string()));
    if let Some(next) = next_char(first) {
        select.and_where(Expr::col("gram").lt(next.to_string()));
    }
    select
}

/// Counts (as `n`) the members of `tenant_id` holding a gram that begins with `first`: those
/// whose name holds it.
pub(crate) fn begins_count(tenant_id: TenantId, first: char) -> SelectStatement {
    let members = begins(
        Query::select()
            .distinct()
            .column("member_id")
            .from(GRAMS)
            .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
            .to_owned(),
        first,
    );
    Query::select()
        .expr_as(Expr::cust("COUNT(*)"), "n")
        .from_subquery(members, "m")
        .to_owned()
}

/// One page of the members of `tenant_id` holding a gram that begins with `first` (those whose
/// name holds it), in the member list's order (by name, then id), as (`name`, `member_id`): read
/// from the name index alone, whose grams carry the name in the list's collation.
pub(crate) fn begins_page(
    tenant_id: TenantId,
    first: char,
    limit: u64,
    offset: u64,
) -> SelectStatement {
    let mut page = begins(
        Query::select()
            .distinct()
            .columns(["name", "member_id"])
            .from(GRAMS)
            .and_where(Expr::col("tenant_id").eq(tenant_id.uuid()))
            .to_owned(),
        first,
    );
    page.order_by("name", Order::Asc)
        .order_by("member_id", Order::Asc)
        .limit(limit)
        .offset(offset);
    page
}

/// The ids (`member_id`) of the members of `tenant_id` the name index finds through `probe`
/// (every pair of it, each further one as a nested `IN`, which both databases read as a
/// semi-join), and of those the condition `by_number` on the ID number finds through the
/// ID-number index; each once.
pub(crate) fn candidates(
    tenant_id: TenantId,
    probe: &Probe,
    by_number: SimpleExpr,
) -> SelectStatement {
    let tenant = tenant_id.uuid();
    let grams = || {
        Query::select()
            .column("member_id")
            .from(GRAMS)
            .and_where(Expr::col("tenant_id").eq(tenant))
            .to_owned()
    };
    let mut names = match probe {
        Probe::Begins(first) => begins(grams(), *first),
        Probe::Pairs(pairs) => {
            let mut inner: Option<SelectStatement> = None;
            for pair in pairs.iter().rev() {
                let mut select = grams();
                select.and_where(Expr::col("gram").eq(pair.as_str()));
                if let Some(inner) = inner.take() {
                    select.and_where(Expr::col("member_id").in_subquery(inner));
                }
                inner = Some(select);
            }
            inner.unwrap_or_else(grams)
        }
    };
    let numbers = Query::select()
        .column("id")
        .from("members")
        .and_where(Expr::col("tenant_id").eq(tenant))
        .and_where(by_number)
        .to_owned();
    names.union(UnionType::Distinct, numbers);
    names
}

/// The range of 公民身份号码 that begin with `prefix` (digits and `X` only), as `(low, high)`:
/// a number is at least its beginning and at most its beginning followed by `X`s (digits sort
/// before `X`). `None` when `prefix` holds anything else.
pub(crate) fn id_number_range(prefix: &str) -> Option<(String, String)> {
    if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_digit() || c == 'X') {
        return None;
    }
    let high = format!(
        "{prefix}{}",
        "X".repeat(18usize.saturating_sub(prefix.len()))
    );
    Some((prefix.to_owned(), high))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_character_begins_a_gram() {
        let g: Vec<String> = grams("张建国").into_iter().collect();
        assert_eq!(g, ["国", "建国", "张建"]);
        assert_eq!(
            grams("Li Na").into_iter().collect::<Vec<_>>(),
            [" n", "a", "i ", "li", "na"]
        );
        assert!(grams("").is_empty());
        // A repeated pair is one gram.
        assert_eq!(grams("哈哈哈").len(), 2);
    }

    #[test]
    fn a_rename_writes_every_gram_again_with_the_new_name() {
        let set = |g: &[&str]| g.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
        let renamed = MemberChange {
            member_id: Uuid::nil(),
            before: Some(Some("张建国".into())),
            after: Some(Some("张建华".into())),
        };
        assert_eq!(
            renamed.diff(),
            (
                Some(("张建国", set(&["国", "建国", "张建"]))),
                Some(("张建华", set(&["华", "建华", "张建"])))
            )
        );
        assert_eq!(renamed.live_delta(), 0);
        // Written again with the same name: nothing to do.
        let same = MemberChange {
            before: renamed.after.clone(),
            ..renamed.clone()
        };
        assert_eq!(same.diff(), (None, None));
        let deleted = MemberChange {
            after: None,
            ..renamed.clone()
        };
        assert_eq!(deleted.diff().0.map(|(_, g)| g.len()), Some(3));
        assert!(deleted.diff().1.is_none());
        assert_eq!(deleted.live_delta(), -1);
        let made = MemberChange {
            before: None,
            after: Some(None),
            ..renamed
        };
        assert_eq!(made.diff(), (None, None));
        assert_eq!(made.live_delta(), 1);
    }

    #[test]
    fn the_pairs_probed_are_the_first_the_middle_and_the_last() {
        let pairs = |p: &[&str]| Some(Probe::Pairs(p.iter().map(|s| (*s).to_owned()).collect()));
        assert_eq!(Probe::of("欧阳建国"), pairs(&["欧阳", "阳建", "建国"]));
        assert_eq!(Probe::of("建国"), pairs(&["建国"]));
        assert_eq!(Probe::of("Li"), pairs(&["li"]));
        assert_eq!(Probe::of("张"), Some(Probe::Begins('张')));
        assert_eq!(Probe::of(""), None);
    }

    #[test]
    fn an_id_number_range_holds_every_number_it_begins() {
        let (low, high) = id_number_range("110101").unwrap();
        for number in ["110101199003077777", "11010119900307777X", "110101"] {
            assert!(
                low.as_str() <= number && number <= high.as_str(),
                "{number}"
            );
        }
        assert!("110102000000000000" > high.as_str());
        assert!(id_number_range("张三").is_none());
        assert_eq!(next_char('\u{D7FF}'), Some('\u{E000}'));
    }
}
