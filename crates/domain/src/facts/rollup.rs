//! The rollup: a unit's and its children's counts, phase tallies, ledger submissions and
//! roster reconciliation, from the facts.

use crate::campaign::{Phase, PhaseState, Plan, SuspensionClock, Tally, suspension_clock};
use crate::lost_contact::{MOBILE_MONTHS, assess_mobile};
use crate::status::{Counts, FormFacts, MemberFacts, bump};
use chrono::NaiveDate;
use std::collections::HashMap;
use uuid::Uuid;

use super::*;

/// The ledger submission of one work area for one ledger, as of a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionState {
    pub work_area: Uuid,
    pub ledger: &'static str,
    /// The submission's status (`draft`, `submitted`, `returned`, `approved`), if any.
    pub status: Option<&'static str>,
    pub received_on: Option<NaiveDate>,
    pub state: PhaseState,
}

/// A unit's counts, phase tallies and ledger submissions.
#[derive(Debug, Clone, Default)]
pub struct Rollup {
    pub counts: Counts,
    pub tallies: HashMap<Phase, Tally>,
    pub submissions: Vec<SubmissionState>,
    /// The cases among finalization's items (its members restate verification's).
    pub finalization_cases: Tally,
    /// The roster against the actual counts of the branches below the unit.
    pub reconciliation: crate::status::Reconciliation,
}

/// A unit the rollup reports on.
#[derive(Debug, Clone, Copy)]
pub struct UnitRef<'a> {
    pub id: Uuid,
    pub path: &'a str,
}

const LEDGERS: [&str; 2] = ["ledger_a", "ledger_b"];

/// Counts `f` into the whole (when `whole`) and into the child at `child`.
fn count_in(
    total: &mut Rollup,
    per_child: &mut [Rollup],
    whole: bool,
    child: Option<usize>,
    f: &dyn Fn(&mut Rollup),
) {
    if whole {
        f(total);
        if let Some(i) = child {
            f(&mut per_child[i]);
        }
    }
}

/// Counts the facts under `target` and under each child (by path), as of `as_of`.
/// `work_areas` are the work areas at or below `target`: each owes both ledgers. `subtree`
/// are the units at or below `target`: a member who moved counts at the start in his branch
/// of then, found among them (docs/domain.md §6.7).
/// `day` as `YYYY-MM-DD` (its `Display`), written into `buf` without allocating: a rollup
/// names the day of each verified member.
fn iso_day(day: NaiveDate, buf: &mut [u8; 10]) -> std::borrow::Cow<'_, str> {
    use chrono::Datelike;
    let (year, month, date) = (day.year(), day.month(), day.day());
    if !(0..=9999).contains(&year) {
        return std::borrow::Cow::Owned(day.to_string());
    }
    let year = year.unsigned_abs();
    let digits = [
        year / 1000,
        year / 100 % 10,
        year / 10 % 10,
        year % 10,
        0,
        month / 10,
        month % 10,
        0,
        date / 10,
        date % 10,
    ];
    for (i, d) in digits.into_iter().enumerate() {
        buf[i] = if i == 4 || i == 7 {
            b'-'
        } else {
            b'0' + u8::try_from(d).unwrap_or(0)
        };
    }
    std::borrow::Cow::Borrowed(std::str::from_utf8(buf).unwrap_or_default())
}

/// Where one of the tenant's paths lies for a rollup.
#[derive(Debug, Clone, Copy, Default)]
struct Place<'a> {
    /// In the target.
    now_in: bool,
    /// The target's child it lies in.
    child: Option<usize>,
    path: &'a str,
}

pub fn roll_up(
    facts: &Facts,
    target: UnitRef<'_>,
    children: &[UnitRef<'_>],
    work_areas: &[UnitRef<'_>],
    subtree: &[UnitRef<'_>],
    plan: Option<&Plan>,
    as_of: NaiveDate,
) -> (Rollup, Vec<Rollup>) {
    let mut total = Rollup::default();
    let mut per_child = vec![Rollup::default(); children.len()];
    let under = |path: &str, unit: &str| crate::org::is_within(path, unit);
    // Each of the tenant's paths judged once (a million records name a few thousand): whether
    // it lies in the target, and in which child.
    let places: Vec<Place> = facts
        .paths
        .iter()
        .map(|path| {
            let now_in = under(path, target.path);
            Place {
                now_in,
                child: now_in
                    .then(|| children.iter().position(|c| under(path, c.path)))
                    .flatten(),
                path,
            }
        })
        .collect();
    let place = |entry: &Entry| places[entry.at as usize];

    // What other records tell about members and cases.
    // A member's first confirmation (a later re-confirmation does not make it late).
    let mut confirmed_on: HashMap<Uuid, NaiveDate> = HashMap::new();
    // A case's first search: an attempt, or a department search the committee carried out.
    let mut first_attempt: HashMap<Uuid, Option<NaiveDate>> = HashMap::new();
    let mut note_attempt = |case: Uuid, day: Option<NaiveDate>| {
        let e = first_attempt.entry(case).or_insert(day);
        *e = match (*e, day) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
    };
    let mut submissions: HashMap<&str, Vec<&Submission>> = HashMap::new();
    let mut removed: std::collections::HashSet<Uuid> = std::collections::HashSet::new();
    // The member of each case, and whether some case found the member.
    let mut case_member: HashMap<Uuid, Uuid> = HashMap::new();
    let mut found_by_case: std::collections::HashSet<Uuid> = std::collections::HashSet::new();
    // Members who left by an effective disposition on or before `as_of` (docs/domain.md §6.6):
    // from that day they are off the roster's total.
    let mut left: std::collections::HashSet<Uuid> = std::collections::HashSet::new();
    // Per branch (by path): the actual count its working group recorded, and whether it
    // explained a difference.
    let mut actual: HashMap<&str, (Option<u64>, bool)> = HashMap::new();
    // Each member's latest effective disposition: only a suspension still standing runs the
    // clock (a later restoration, removal or death stops it).
    let mut standing: HashMap<Uuid, (NaiveDate, Uuid)> = HashMap::new();
    for ((_, record_id), entry) in facts.records.iter() {
        if !place(entry).now_in {
            continue;
        }
        match &entry.fact {
            Fact::Member(m) if m.roster_status == Some("removed_from_roster") => {
                removed.insert(*record_id);
            }
            Fact::Form(form) => {
                if let (Some(member), Some(day)) = (form.member_id, form.confirmed_on) {
                    let e = confirmed_on.entry(member).or_insert(day);
                    *e = (*e).min(day);
                }
            }
            Fact::Attempt(a) => {
                if let Some(case) = a.case_id {
                    note_attempt(case, a.attempted_on);
                }
            }
            Fact::DepartmentRequest(request) => {
                if let (Some(case), Some("done")) = (request.case_id, request.status.get()) {
                    note_attempt(case, request.executed_on);
                }
            }
            Fact::Submission(s) => submissions.entry(place(entry).path).or_default().push(s),
            Fact::Case(case) => {
                if let Some(member) = case.member_id {
                    case_member.insert(*record_id, member);
                    if matches!(case.result.get(), Some("found" | "managed_elsewhere")) {
                        found_by_case.insert(member);
                    }
                }
            }
            Fact::WorkingGroup(group) => {
                let e = actual.entry(place(entry).path).or_insert((None, false));
                if group.actual_count.is_some() {
                    *e = (group.actual_count, group.explained);
                }
            }
            Fact::Disposition(d) => {
                let (Some(member), Some("effective"), Some(on)) =
                    (&d.member_id, d.status.get(), &d.effective_on)
                else {
                    continue;
                };
                let kind = d.kind.get();
                // What stands on `as_of`: a disposition counts from the day it takes effect.
                if *on > as_of {
                    continue;
                }
                let e = standing.entry(*member).or_insert((*on, *record_id));
                if (*on, *record_id) > *e {
                    *e = (*on, *record_id);
                }
                if kind.is_some_and(crate::workflow::ends_membership) {
                    left.insert(*member);
                }
            }
            _ => {}
        }
    }

    // Each member's first search, over all of its cases.
    let mut member_attempt: HashMap<Uuid, Option<NaiveDate>> = HashMap::new();
    for (case, member) in &case_member {
        if let Some(day) = first_attempt.get(case) {
            let e = member_attempt.entry(*member).or_insert(*day);
            *e = match (*e, *day) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            };
        }
    }
    // Members who are items of the search phase themselves (lost at the start, on the roster):
    // their cases are not items on their own.
    let lost_item = |member: Uuid| {
        let Some(entry) = facts.records.get(&(Collection::Members, member)) else {
            return false;
        };
        let Fact::Member(m) = &entry.fact else {
            return false;
        };
        place(entry).now_in
            && m.roster_status != Some("removed_from_roster")
            && !left.contains(&member)
            && at_start(m, plan).is_some_and(|j| j.lost)
    };
    // Per branch path: members on the roster at the start, ledger A additions, ledger B
    // removals.
    // (kept by path number; a member counted at a start branch other than where he counts now
    // is kept by the path itself).
    let mut per_place: Vec<Option<(u64, u64, u64)>> = vec![None; places.len()];
    let mut per_branch: HashMap<&str, (u64, u64, u64)> = HashMap::new();
    let frozen = plan.is_some_and(|p| p.baseline_on.is_some());

    let start = plan.map(|p| p.start_date);
    let deadline = |phase: Phase| plan.map(|p| p.window(phase).1);

    for ((_, record_id), entry) in facts.records.iter() {
        let Place { now_in, child, .. } = place(entry);
        // Where a member counts at the start (docs/domain.md §6.7): once the baseline is
        // fixed, the branch that held him then if he has moved since (none when that branch
        // lies outside the target); else where he is.
        let start_at: Option<&str> = match &entry.fact {
            Fact::Member(m) => match m.start_unit.filter(|_| frozen) {
                Some(unit) => subtree
                    .iter()
                    .find(|u| u.id == unit)
                    .map(|u| u.path)
                    .filter(|p| under(p, target.path)),
                None => now_in.then_some(place(entry).path),
            },
            _ => None,
        };
        if !now_in && start_at.is_none() {
            continue;
        }
        let start_child = match start_at {
            Some(p) if p == place(entry).path => child,
            Some(p) => children.iter().position(|c| under(p, c.path)),
            None => None,
        };
        let mut add = |f: &dyn Fn(&mut Rollup)| {
            count_in(&mut total, &mut per_child, now_in, child, f);
        };
        match &entry.fact {
            Fact::Member(m) => {
                let member = MemberFacts {
                    roster_status: m.roster_status.get(),
                    contact_status: m.contact_status.get(),
                    member_type: m.member_type.get(),
                    whereabouts_known: m.whereabouts_known,
                    last_activity_on: m.last_activity_on,
                    last_dues_paid_on: m.last_dues_paid_on,
                };
                let has_left = left.contains(record_id);
                let on_roster = m.roster_status != Some("removed_from_roster") && !has_left;
                let judged = at_start(m, plan).unwrap_or_default();
                // Before the baseline is fixed, the roster at the start is the roster now
                // (provisional); a member who left it is not counted lost.
                let (lost, lost_months) = if frozen || on_roster {
                    (judged.lost, judged.lost_months)
                } else {
                    (false, None)
                };
                let at_start = if frozen {
                    m.baseline
                        .is_some_and(|b| b.kind == crate::baseline::Kind::AtStart)
                } else {
                    on_roster
                };
                // Counted as lost at the start: of the roster at the start (a member recorded
                // later and lost is searched for, but was not part of the start).
                let lost_at_start = lost && at_start;
                let lost_for = lost_at_start.then_some(match lost_months {
                    Some(m) if m < 12 => "6_to_12_months",
                    Some(m) if m < 24 => "1_to_2_years",
                    Some(_) => "over_2_years",
                    None => "unknown",
                });
                // Found since: a case found the member, or the member was recorded found
                // (never a member simply recorded normal or mobile: that is no search's result).
                let found = lost_at_start && (found_by_case.contains(record_id) || m.found);
                let added = m
                    .baseline
                    .is_some_and(|b| b.kind == crate::baseline::Kind::Added);
                let mobile_at_start = at_start && judged.mobile;
                // A member lost at the start and still on the roster is an item of the search
                // phase, searched once any of its cases has an attempt.
                let search = (lost && on_roster).then(|| member_attempt.get(record_id).copied());
                let looks_mobile = start.is_some_and(|start| {
                    assess_mobile(m.flow_out_on, m.whereabouts_known, start, MOBILE_MONTHS)
                        .is_mobile()
                });
                // Verification is done once the roster status says what became of the person
                // (confirmed, pending because lost, flagged surplus); only a confirmation has
                // a date (the form's), and only a confirmation counts as verified.
                let verified = !matches!(m.roster_status.get(), None | Some("unverified"));
                let confirmed = m
                    .roster_status
                    .get()
                    .is_some_and(|s| s.starts_with("confirmed_"));
                // Dated by the branch's first info form, or else by the day the server recorded
                // the outcome.
                let verified_on = confirmed_on.get(record_id).copied().or(m.checked_on);
                let mut day_text = [0u8; 10];
                let verified_day = if on_roster && verified {
                    verified_on.map(|d| iso_day(d, &mut day_text))
                } else {
                    None
                };
                let on_roster_mobile = on_roster && m.contact_status == Some("mobile");
                if let (true, Some(path)) = (at_start, start_at) {
                    if path == place(entry).path {
                        per_place[entry.at as usize].get_or_insert_default().0 += 1;
                    } else {
                        per_branch.entry(path).or_default().0 += 1;
                    }
                }
                // The numbers at the start count where he was at the start.
                count_in(
                    &mut total,
                    &mut per_child,
                    start_at.is_some(),
                    start_child,
                    &|r| {
                        if lost_at_start {
                            r.counts.lost_contact_at_start += 1;
                        }
                        if found {
                            r.counts.lost_at_start_found += 1;
                        }
                        if at_start {
                            r.counts.roster_at_start += 1;
                        }
                        if added {
                            r.counts.added_after_start += 1;
                        }
                        if mobile_at_start {
                            r.counts.mobile_at_start += 1;
                        }
                        if m.baseline_corrected {
                            r.counts.baseline_corrections += 1;
                        }
                        if let Some(band) = lost_for {
                            *r.counts
                                .lost_by_duration
                                .entry(band.to_owned())
                                .or_default() += 1;
                        }
                    },
                );
                // Moved since the start: out of the units that held him then and do not now,
                // into those that hold him now and did not then.
                if start_at != Some(place(entry).path) {
                    let whole = (start_at.is_some(), now_in);
                    if whole.0 && !whole.1 {
                        total.counts.moved_out += 1;
                    }
                    if whole.1 && !whole.0 {
                        total.counts.moved_in += 1;
                    }
                    if let Some(i) = start_child.filter(|i| child != Some(*i)) {
                        per_child[i].counts.moved_out += 1;
                    }
                    if let Some(i) = child.filter(|i| start_child != Some(*i)) {
                        per_child[i].counts.moved_in += 1;
                    }
                }
                // Everything since counts where he is.
                count_in(&mut total, &mut per_child, now_in, child, &|r| {
                    if has_left {
                        r.counts.members_left += 1;
                    } else {
                        r.counts.add_member(&member, false);
                    }
                    if on_roster && confirmed && m.confirmation_exception {
                        r.counts.confirmed_by_exception += 1;
                    }
                    if let Some(searched) = search {
                        if searched.is_some() {
                            r.counts.lost_searched += 1;
                        } else {
                            r.counts.lost_not_searched += 1;
                        }
                        if let Some(deadline) = deadline(Phase::Search) {
                            r.tallies
                                .entry(Phase::Search)
                                .or_default()
                                .add(searched, deadline);
                        }
                    }
                    if on_roster_mobile {
                        let to = m.flow_destination.as_deref().filter(|d| !d.is_empty());
                        bump(&mut r.counts.mobile_by_destination, to, "未填写");
                    }
                    if let Some(day) = &verified_day {
                        bump(&mut r.counts.verified_by_day, Some(day), "");
                    }
                    if on_roster && looks_mobile {
                        r.counts.proposed_mobile += 1;
                    }
                    if let (true, Some(deadline)) = (on_roster, deadline(Phase::Verification)) {
                        let done = verified.then_some(verified_on);
                        let tally = r.tallies.entry(Phase::Verification).or_default();
                        tally.add(done, deadline);
                        if confirmed && verified_on.is_none_or(|d| d <= deadline) {
                            r.counts.verified_by_deadline += 1;
                        }
                    }
                    if let (true, Some(deadline)) = (on_roster, deadline(Phase::Finalization)) {
                        r.tallies
                            .entry(Phase::Finalization)
                            .or_default()
                            .add(verified.then_some(None), deadline);
                    }
                });
            }
            Fact::Form(form) => {
                let facts = FormFacts {
                    confirmation_mode: form.confirmation_mode.get(),
                    copies: form.copies,
                    photos: form.photos,
                    signature: form.signature,
                    fingerprint: form.fingerprint,
                    flag_photo: form.flag_photo,
                };
                add(&|r| {
                    r.counts.add_form(&facts);
                    if form.pledge_signed {
                        r.counts.pledges_signed += 1;
                    }
                });
            }
            Fact::LedgerEntry { ledger, outcome } => {
                // What the ledgers claim changes the roster by, unless the 组织办 refused it.
                if *outcome != Some("not_recognized") {
                    let b = per_place[entry.at as usize].get_or_insert_default();
                    match ledger.get() {
                        Some("ledger_a") => b.1 += 1,
                        Some("ledger_b") => b.2 += 1,
                        _ => {}
                    }
                }
                add(&|r| r.counts.add_ledger_entry(ledger.get()))
            }
            Fact::Submission(_) | Fact::Campaign(_) | Fact::WorkingGroup(_) => {}
            Fact::Archive(a) => add(&|r| {
                r.counts
                    .add_archive_review(a.status.get(), a.exemption.get())
            }),
            Fact::Case(case) => {
                let attempt = first_attempt.get(record_id).copied();
                // A case of a member lost at the start is searched under its member's item.
                let own_item = case.member_id.is_none_or(|m| !lost_item(m));
                add(&|r| {
                    r.counts
                        .add_case(case.result.get(), case.found_by.get(), attempt.is_some());
                    bump(
                        &mut r.counts.cases_by_circumstance,
                        case.loss_circumstance.get(),
                        "unknown",
                    );
                    if let (true, Some(deadline)) = (own_item, deadline(Phase::Search)) {
                        r.tallies
                            .entry(Phase::Search)
                            .or_default()
                            .add(attempt, deadline);
                    }
                    if let Some(deadline) = deadline(Phase::Finalization) {
                        let concluded = !matches!(case.result.get(), None | Some("searching"));
                        let done = concluded.then_some(None);
                        r.tallies
                            .entry(Phase::Finalization)
                            .or_default()
                            .add(done, deadline);
                        r.finalization_cases.add(done, deadline);
                    }
                });
            }
            Fact::Attempt(a) => add(&|r| r.counts.add_attempt(a.method.get())),
            Fact::DepartmentRequest(request) => {
                add(&|r| r.counts.add_department_request(request.status.get()))
            }
            // A withdrawn transfer is no item of anyone's.
            Fact::Transfer(t) if t.withdrawn => {}
            Fact::Transfer(t) => {
                let done = match t.receipt_status.get() {
                    Some("receipt_received" | "receipt_reissued") => Some(t.receipt_on),
                    Some("receiver_unreachable") if t.registered_lost => Some(None),
                    _ => None,
                };
                // Checking transfers belongs to the verification window (docs/domain.md §3.2):
                // a transfer is checked once it is followed up; one whose receipt is still
                // missing when that window closes continues in the relationships phase.
                let followed_up = !matches!(t.receipt_status.get(), None | Some("issued"));
                let checked = followed_up.then_some(t.checked_on);
                // Settled on a known day within verification; a settlement without a day (a
                // member registered lost) stays an item of the relationships phase.
                let settled_in_verification = plan.is_some_and(|p| {
                    done.is_some_and(|d| d.is_some_and(|d| d <= p.verification_ends_on))
                });
                add(&|r| {
                    r.counts
                        .add_transfer(t.receipt_status.get(), t.registered_lost);
                    if followed_up {
                        r.counts.transfers_checked += 1;
                    }
                    if let Some(deadline) = deadline(Phase::Verification) {
                        r.tallies
                            .entry(Phase::Verification)
                            .or_default()
                            .add(checked, deadline);
                    }
                    if let (false, Some(deadline)) =
                        (settled_in_verification, deadline(Phase::Relationships))
                    {
                        r.tallies
                            .entry(Phase::Relationships)
                            .or_default()
                            .add(done, deadline);
                    }
                });
            }
            Fact::Performance { violation } => {
                add(&|r| r.counts.violations += u64::from(*violation))
            }
            Fact::Disposition(d) => {
                let done = match d.status.get() {
                    Some("effective") => Some(d.effective_on),
                    Some("rejected") => Some(None),
                    _ => None,
                };
                // The clock runs for the suspension that stands: the member's latest effective
                // disposition, while the member is on the roster.
                let stands = d.member_id.is_some_and(|member| {
                    !removed.contains(&member)
                        && standing.get(&member).is_some_and(|(_, id)| id == record_id)
                });
                let clock = match (
                    d.kind.get().filter(|_| stands),
                    d.status.get(),
                    d.effective_on,
                ) {
                    (Some("suspend"), Some("effective"), Some(on)) => {
                        Some(suspension_clock(Plan::suspension_ends_on(plan, on), as_of))
                    }
                    _ => None,
                };
                add(&|r| {
                    r.counts.add_disposition(d.kind.get(), d.status.get());
                    match clock {
                        Some(SuspensionClock::Running { .. }) => r.counts.suspended += 1,
                        Some(SuspensionClock::EndingSoon { .. }) => {
                            r.counts.suspended += 1;
                            r.counts.suspensions_ending_soon += 1;
                        }
                        Some(SuspensionClock::Ended { .. }) => {
                            r.counts.suspended += 1;
                            r.counts.suspensions_ended += 1;
                        }
                        None => {}
                    }
                    if let Some(deadline) = deadline(Phase::Dispositions) {
                        r.tallies
                            .entry(Phase::Dispositions)
                            .or_default()
                            .add(done, deadline);
                    }
                });
            }
        }
    }

    // Each branch's roster against its actual count.
    for (at, counted) in per_place.iter().enumerate() {
        if let Some((at_start, additions, removals)) = counted {
            let b = per_branch.entry(places[at].path).or_default();
            b.0 += at_start;
            b.1 += additions;
            b.2 += removals;
        }
    }
    let mut branches: Vec<&str> = per_branch.keys().chain(actual.keys()).copied().collect();
    branches.sort_unstable();
    branches.dedup();
    for path in branches {
        let (at_start, additions, removals) = per_branch.get(path).copied().unwrap_or_default();
        let (count, explained) = actual.get(path).copied().unwrap_or((None, false));
        let mut one = crate::status::Reconciliation::default();
        one.add_branch(at_start, additions, removals, count, explained);
        total.reconciliation.merge(&one);
        if let Some(i) = children.iter().position(|c| under(path, c.path)) {
            per_child[i].reconciliation.merge(&one);
        }
    }

    // Each work area owes both ledgers by the deadline.
    if let Some(plan) = plan {
        for wa in work_areas {
            let child = children.iter().position(|c| under(wa.path, c.path));
            for ledger in LEDGERS {
                let mine: Vec<&&Submission> = submissions
                    .get(wa.path)
                    .map(|v| v.iter().filter(|s| s.ledger == Some(ledger)).collect())
                    .unwrap_or_default();
                // The submission that counts: approved or submitted before a draft or a
                // returned one; among equals the latest received.
                let rank = |s: &Submission| match s.status.get() {
                    Some("approved") => 3,
                    Some("submitted") => 2,
                    // A reopened ledger, like a returned one, is done again only when it
                    // is submitted again (docs/domain.md §8.16).
                    Some("returned" | "reopened") => 1,
                    _ => 0,
                };
                let best = mine
                    .iter()
                    .max_by_key(|s| (rank(s), s.received_on))
                    .copied();
                let done = best.filter(|s| rank(s) >= 2).map(|s| s.received_on);
                let mut tally = Tally::default();
                tally.add(done, plan.ledger_deadline);
                let state = SubmissionState {
                    work_area: wa.id,
                    ledger,
                    status: best.and_then(|s| s.status.get()).or(best.map(|_| "draft")),
                    received_on: best.and_then(|s| s.received_on),
                    state: tally.state(plan.ledger_deadline, as_of),
                };
                total
                    .tallies
                    .entry(Phase::LedgerSubmission)
                    .or_default()
                    .merge(&tally);
                total.submissions.push(state.clone());
                if let Some(i) = child {
                    per_child[i]
                        .tallies
                        .entry(Phase::LedgerSubmission)
                        .or_default()
                        .merge(&tally);
                    per_child[i].submissions.push(state);
                }
            }
        }
    }

    if let Some(plan) = plan {
        for r in std::iter::once(&mut total).chain(per_child.iter_mut()) {
            // Finalization's members restate verification's: of its items only the cases
            // (searched, but not concluded) are overdue on their own.
            let cases = if as_of > plan.finalization_ends_on {
                r.finalization_cases.not_done()
            } else {
                0
            };
            r.counts.overdue = cases
                + r.tallies
                    .iter()
                    .filter(|(phase, _)| **phase != Phase::Finalization)
                    .filter(|(phase, _)| as_of > plan.window(**phase).1)
                    .map(|(_, t)| t.not_done())
                    .sum::<u64>();
        }
    }
    (total, per_child)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_named_as_its_display_names_it() {
        for day in ["2026-12-07", "0001-01-01", "1999-10-31", "9999-12-31"] {
            let d = NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap();
            let mut buf = [0u8; 10];
            assert_eq!(iso_day(d, &mut buf), d.to_string());
        }
        let far = NaiveDate::from_ymd_opt(12345, 1, 2).unwrap();
        assert_eq!(iso_day(far, &mut [0u8; 10]), far.to_string());
    }
}
