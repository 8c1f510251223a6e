//! The status read model: the facts of a tenant's records that the committee's view counts
//! (docs/domain.md §10), kept in memory and brought up to date change by change, and the rollup
//! that turns them into the counts and phase states of a unit and its children.
//!
//! Pure: the server loads changed records from the database and hands them to
//! [`Facts::apply`]; [`roll_up`] counts. Enum words are interned against the collection
//! declarations, so a member costs a few dozen bytes however long its record is.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::campaign::Plan;
use crate::collection::{Collection, FieldType};

pub(crate) mod checkpoint;
mod records;
mod rollup;

pub use checkpoint::{CheckpointError, FORMAT as CHECKPOINT_FORMAT};
pub use rollup::{Rollup, SubmissionState, UnitRef, roll_up};

/// A word of a collection's enum, held as its number among every collection's words
/// ([`checkpoint::WORDS`]): two bytes where a reference to the text took sixteen, in a model
/// that holds three for each of a million members. Compared with `Some("word")` or `None`.
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Word(u16);

impl Word {
    /// No word.
    pub const NONE: Word = Word(0);

    /// The word `text`, when a collection declares it.
    fn of(text: &str) -> Word {
        checkpoint::word::number(text).map_or(Word::NONE, |n| Word(n + 1))
    }

    /// The word's text.
    pub fn get(self) -> Option<&'static str> {
        self.0
            .checked_sub(1)
            .and_then(|n| checkpoint::WORDS.get(usize::from(n)).copied())
    }
}

impl PartialEq<Option<&str>> for Word {
    fn eq(&self, other: &Option<&str>) -> bool {
        self.get() == *other
    }
}

/// As the text it stands for (`Some("word")`, `None`).
impl std::fmt::Debug for Word {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Member {
    #[serde(with = "checkpoint::word")]
    pub roster_status: Word,
    #[serde(with = "checkpoint::word")]
    pub contact_status: Word,
    #[serde(with = "checkpoint::word")]
    pub member_type: Word,
    pub whereabouts_known: Option<bool>,
    #[serde(with = "checkpoint::day")]
    pub last_activity_on: Option<NaiveDate>,
    #[serde(with = "checkpoint::day")]
    pub last_dues_paid_on: Option<NaiveDate>,
    #[serde(with = "checkpoint::day")]
    pub flow_out_on: Option<NaiveDate>,
    /// The day the server recorded the verification outcome (stamped).
    #[serde(with = "checkpoint::day")]
    pub checked_on: Option<NaiveDate>,
    /// Where a mobile member went (流出去向), kept for mobile members only.
    pub flow_destination: Option<Box<str>>,
    /// The member's snapshot in the campaign's fixed baseline (crate::baseline).
    pub baseline: Option<crate::baseline::Snapshot>,
    pub baseline_corrected: bool,
    /// The member's facts as they stood before the start (crate::baseline::Kept).
    pub start: crate::baseline::Kept,
    /// Found after being lost (crate::baseline::is_found).
    pub found: bool,
    /// Confirmed on an exception the branch recorded, not on a complete form.
    pub confirmation_exception: bool,
    /// The branch that held him at the start, once he has moved (crate::moves).
    pub start_unit: Option<Uuid>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Form {
    pub member_id: Option<Uuid>,
    #[serde(with = "checkpoint::word")]
    pub confirmation_mode: Word,
    /// The day the confirmation is judged by (crate::entry::Entry::judged).
    #[serde(with = "checkpoint::day")]
    pub confirmed_on: Option<NaiveDate>,
    pub entry: Option<crate::entry::Entry>,
    pub copies: Option<i64>,
    pub photos: usize,
    pub signature: bool,
    pub fingerprint: bool,
    pub flag_photo: bool,
    pub pledge_signed: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Submission {
    #[serde(with = "checkpoint::word")]
    pub ledger: Word,
    #[serde(with = "checkpoint::word")]
    pub status: Word,
    #[serde(with = "checkpoint::day")]
    pub received_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Archive {
    #[serde(with = "checkpoint::word")]
    pub status: Word,
    #[serde(with = "checkpoint::word")]
    pub exemption: Word,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Case {
    pub member_id: Option<Uuid>,
    #[serde(with = "checkpoint::word")]
    pub result: Word,
    #[serde(with = "checkpoint::word")]
    pub found_by: Word,
    /// How the member came to lose contact (失去联系情形).
    #[serde(with = "checkpoint::word")]
    pub loss_circumstance: Word,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Attempt {
    pub case_id: Option<Uuid>,
    /// The day the attempt is judged by (crate::entry::Entry::judged).
    #[serde(with = "checkpoint::day")]
    pub attempted_on: Option<NaiveDate>,
    pub entry: Option<crate::entry::Entry>,
    #[serde(with = "checkpoint::word")]
    pub method: Word,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Transfer {
    /// The day the transfer was first followed up (stamped).
    #[serde(with = "checkpoint::day")]
    pub checked_on: Option<NaiveDate>,
    #[serde(with = "checkpoint::word")]
    pub receipt_status: Word,
    /// The day the receipt is judged by (crate::entry::Entry::judged).
    #[serde(with = "checkpoint::day")]
    pub receipt_on: Option<NaiveDate>,
    pub entry: Option<crate::entry::Entry>,
    pub registered_lost: bool,
    /// Withdrawn from its list: counts nowhere (crate::derived::transfer_withdrawn).
    pub withdrawn: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Disposition {
    pub member_id: Option<Uuid>,
    #[serde(with = "checkpoint::word")]
    pub kind: Word,
    #[serde(with = "checkpoint::word")]
    pub status: Word,
    #[serde(with = "checkpoint::day")]
    pub effective_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DepartmentRequest {
    pub case_id: Option<Uuid>,
    #[serde(with = "checkpoint::word")]
    pub status: Word,
    #[serde(with = "checkpoint::day")]
    pub executed_on: Option<NaiveDate>,
}

/// A branch's working group, with the village's or community's actual count of members it
/// recorded (村居实际底数) and whether it explained a difference.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WorkingGroup {
    pub actual_count: Option<u64>,
    pub explained: bool,
}

/// What the counts need of one record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Fact {
    /// Boxed, as every fact larger than a few words is: a fact takes 16 bytes in the model's
    /// map, whose slots (twice as many as its records) a checkpoint's reading writes afresh.
    Member(Box<Member>),
    Form(Box<Form>),
    LedgerEntry {
        #[serde(with = "checkpoint::word")]
        ledger: Word,
        #[serde(with = "checkpoint::word")]
        outcome: Word,
    },
    Submission(Box<Submission>),
    Archive(Box<Archive>),
    Case(Box<Case>),
    Attempt(Box<Attempt>),
    DepartmentRequest(Box<DepartmentRequest>),
    Transfer(Box<Transfer>),
    Performance {
        violation: bool,
    },
    Disposition(Box<Disposition>),
    Campaign(#[serde(with = "checkpoint::json")] Box<Map<String, Value>>),
    WorkingGroup(Box<WorkingGroup>),
}

#[derive(Debug, Clone)]
pub struct Entry {
    /// The number of the path of the unit the record counts for (its addressee's, or its
    /// owner's) among the tenant's paths ([`Facts::path`]; [`Facts::apply`] numbers them as it
    /// meets them): a record holds four bytes instead of a reference, and a rollup judges each
    /// unit once instead of each record's path.
    at: u32,
    pub fact: Fact,
}

/// The facts of one tenant's live records.
#[derive(Debug, Default)]
pub struct Facts {
    records: records::Records,
    /// One copy of each unit path, by its number (0, 1, … in the order met).
    paths: Vec<Arc<str>>,
    /// Each path's number.
    numbers: HashMap<Arc<str>, u32>,
}

fn word(c: Collection, fields: &Map<String, Value>, name: &str) -> Word {
    let Some(value) = fields.get(name).and_then(Value::as_str) else {
        return Word::NONE;
    };
    match c.schema().field(name).map(|f| f.ty) {
        Some(FieldType::Enum(words)) if words.contains(&value) => Word::of(value),
        _ => Word::NONE,
    }
}

fn date(fields: &Map<String, Value>, name: &str) -> Option<NaiveDate> {
    fields
        .get(name)?
        .as_str()
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

/// A record's typed date as the server keeps it (crate::entry), for the collections that have one.
fn entry(c: Collection, fields: &Map<String, Value>) -> Option<crate::entry::Entry> {
    crate::entry::typed(c).map(|t| crate::entry::Entry::of(t, fields))
}

fn boolean(fields: &Map<String, Value>, name: &str) -> Option<bool> {
    fields.get(name)?.as_bool()
}

fn id(fields: &Map<String, Value>, name: &str) -> Option<Uuid> {
    fields
        .get(name)?
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
}

fn present(fields: &Map<String, Value>, name: &str) -> bool {
    fields.get(name).is_some_and(|v| !v.is_null())
}

impl Fact {
    /// The facts of a record's fields.
    pub fn of(c: Collection, f: &Map<String, Value>) -> Fact {
        match c {
            Collection::Members => Fact::Member(Box::new(Member {
                roster_status: word(c, f, "roster_status"),
                contact_status: word(c, f, "contact_status"),
                member_type: word(c, f, "member_type"),
                whereabouts_known: boolean(f, "whereabouts_known"),
                last_activity_on: date(f, "last_activity_on"),
                last_dues_paid_on: date(f, "last_dues_paid_on"),
                flow_out_on: date(f, "flow_out_on"),
                checked_on: date(f, "checked_on"),
                flow_destination: (word(c, f, "contact_status") == Some("mobile"))
                    .then(|| f.get("flow_destination").and_then(Value::as_str))
                    .flatten()
                    .map(|d| d.trim().into()),
                baseline: crate::baseline::of_fields(f),
                baseline_corrected: present(f, "baseline_corrected_on"),
                start: crate::baseline::Kept::of_fields(f),
                found: crate::baseline::is_found(f),
                confirmation_exception: f
                    .get("confirmation_exception")
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.trim().is_empty()),
                start_unit: id(f, "start_branch_id"),
            })),
            Collection::InfoForms => Fact::Form(Box::new(Form {
                member_id: id(f, "member_id"),
                confirmation_mode: word(c, f, "confirmation_mode"),
                confirmed_on: entry(c, f).and_then(|e| e.judged()),
                entry: entry(c, f).filter(crate::entry::Entry::backdated),
                copies: f.get("copies").and_then(Value::as_i64),
                photos: f
                    .get("photos")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len),
                signature: present(f, "signature"),
                fingerprint: present(f, "fingerprint"),
                flag_photo: present(f, "flag_photo"),
                pledge_signed: boolean(f, "pledge_signed") == Some(true),
            })),
            Collection::RosterLedgerEntries => Fact::LedgerEntry {
                ledger: word(c, f, "ledger"),
                outcome: word(c, f, "outcome"),
            },
            Collection::LedgerSubmissions => Fact::Submission(Box::new(Submission {
                ledger: word(c, f, "ledger"),
                status: word(c, f, "status"),
                received_on: date(f, "received_on"),
            })),
            Collection::ArchiveReviews => Fact::Archive(Box::new(Archive {
                status: word(c, f, "status"),
                exemption: word(c, f, "exemption"),
            })),
            Collection::ContactCases => Fact::Case(Box::new(Case {
                member_id: id(f, "member_id"),
                result: word(c, f, "result"),
                found_by: word(c, f, "found_by"),
                loss_circumstance: word(c, f, "loss_circumstance"),
            })),
            Collection::ContactAttempts => Fact::Attempt(Box::new(Attempt {
                case_id: id(f, "case_id"),
                attempted_on: entry(c, f).and_then(|e| e.judged()),
                entry: entry(c, f).filter(crate::entry::Entry::backdated),
                method: word(c, f, "method"),
            })),
            Collection::DepartmentSearchRequests => {
                Fact::DepartmentRequest(Box::new(DepartmentRequest {
                    case_id: id(f, "case_id"),
                    status: word(c, f, "status"),
                    executed_on: date(f, "executed_on"),
                }))
            }
            Collection::Transfers => Fact::Transfer(Box::new(Transfer {
                checked_on: date(f, "checked_on"),
                receipt_status: word(c, f, "receipt_status"),
                receipt_on: entry(c, f).and_then(|e| e.judged()),
                entry: entry(c, f).filter(crate::entry::Entry::backdated),
                registered_lost: boolean(f, "registered_lost") == Some(true),
                withdrawn: crate::derived::transfer_withdrawn(f),
            })),
            Collection::PerformanceChecks => Fact::Performance {
                violation: boolean(f, "violation") == Some(true),
            },
            Collection::Dispositions => Fact::Disposition(Box::new(Disposition {
                member_id: id(f, "member_id"),
                kind: word(c, f, "disposition_type"),
                status: word(c, f, "status"),
                effective_on: date(f, "effective_on"),
            })),
            Collection::Campaigns => Fact::Campaign(Box::new(f.clone())),
            Collection::WorkingGroups => Fact::WorkingGroup(Box::new(WorkingGroup {
                actual_count: f.get("actual_count").and_then(Value::as_u64),
                explained: f
                    .get("reconciliation_note")
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.trim().is_empty()),
            })),
        }
    }
}

/// A member's judgement at the start (docs/domain.md §8.9): once the baseline is fixed, the
/// member's snapshot (the server keeps it following the start facts until a report is signed,
/// then only the 组织办 corrects it); before, the rule on the member's start facts, whenever they
/// were recorded. `None` without a campaign.
fn at_start(m: &Member, plan: Option<&Plan>) -> Option<crate::baseline::Judgement> {
    let plan = plan?;
    let fixed = plan.baseline_on.is_some() || m.baseline_corrected;
    Some(match m.baseline {
        Some(b) if fixed => crate::baseline::Judgement {
            lost: b.lost,
            lost_months: b.lost_months,
            mobile: b.mobile,
        },
        _ => crate::baseline::judge(&m.start.at(plan.start_date), plan),
    })
}

impl Facts {
    /// Applies one record as it now stands: a tombstone removes it.
    pub fn apply(
        &mut self,
        collection: Collection,
        id: Uuid,
        path: &str,
        deleted: bool,
        fields: &Map<String, Value>,
    ) {
        if deleted {
            self.records.swap_remove(&(collection, id));
            return;
        }
        let at = match self.numbers.get(path) {
            Some(at) => *at,
            None => {
                let p: Arc<str> = Arc::from(path);
                let at = u32::try_from(self.paths.len()).unwrap_or(u32::MAX);
                self.paths.push(p.clone());
                self.numbers.insert(p, at);
                at
            }
        };
        let fact = Fact::of(collection, fields);
        self.records.insert((collection, id), Entry { at, fact });
    }

    /// The path of the unit `entry` counts for.
    pub fn path(&self, entry: &Entry) -> &str {
        self.paths.get(entry.at as usize).map_or("", |path| &**path)
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Keeps only the records `live` holds (every other was deleted, its tombstone gone);
    /// returns how many went.
    pub fn retain_live(&mut self, live: &std::collections::HashSet<(Collection, Uuid)>) -> usize {
        let before = self.records.len();
        self.records.retain(|key, _| live.contains(key));
        before - self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The tenant's campaign and its plan ([`Plan::latest`]).
    pub fn campaign(&self) -> Option<(Uuid, Plan)> {
        Plan::latest(
            self.records
                .iter()
                .filter_map(|((_, id), e)| match &e.fact {
                    Fact::Campaign(fields) => Some((*id, fields.as_ref())),
                    _ => None,
                }),
        )
    }

    /// The typed dates under `path` that wait for the 组织办's acceptance (crate::entry): each
    /// record's collection, id and entry, oldest typed date first.
    pub fn awaiting_acceptance(
        &self,
        path: &str,
        plan: &Plan,
    ) -> Vec<(Collection, Uuid, crate::entry::Entry)> {
        let mut out: Vec<(Collection, Uuid, crate::entry::Entry)> = self
            .records
            .iter()
            .filter(|(_, e)| crate::org::is_within(self.path(e), path))
            .filter_map(|((c, id), e)| {
                let entry = match &e.fact {
                    Fact::Form(f) => f.entry,
                    Fact::Attempt(a) => a.entry,
                    Fact::Transfer(t) if !t.withdrawn => t.entry,
                    _ => None,
                }?;
                let phase = crate::entry::typed(*c)?.phase;
                entry
                    .awaits_acceptance(plan.window(phase).1)
                    .then_some((*c, *id, entry))
            })
            .collect();
        out.sort_by_key(|(c, id, e)| (e.typed, c.as_str(), *id));
        out
    }

    /// The plan of the tenant's campaign ([`Facts::campaign`]).
    pub fn plan(&self) -> Option<Plan> {
        self.campaign().map(|(_, plan)| plan)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::campaign::{Phase, PhaseState};
    use serde_json::json;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn put(facts: &mut Facts, c: Collection, id: Uuid, path: &str, v: Value) {
        facts.apply(c, id, path, false, v.as_object().unwrap());
    }

    /// What one record costs in the model, in bytes: a million members' model is written
    /// afresh into memory as a checkpoint is read back, and its reading time follows its size.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_record_costs_a_few_dozen_bytes() {
        use std::mem::size_of;
        assert_eq!(size_of::<Word>(), 2);
        assert_eq!(size_of::<Fact>(), 16);
        assert_eq!(size_of::<Entry>(), 24);
        // A record as the map keeps it: the key (collection and id) and the entry (beside the
        // key's hash and its place in the index).
        assert_eq!(size_of::<((Collection, Uuid), Entry)>(), 48);
        assert!(size_of::<Member>() <= 112, "{}", size_of::<Member>());
    }

    #[test]
    fn lost_members_by_duration_and_mobile_members_by_destination() {
        let mut facts = Facts::default();
        put(
            &mut facts,
            Collection::Campaigns,
            Uuid::new_v4(),
            "/c/",
            json!({"name": "x", "start_date": "2016-03-07"}),
        );
        let b = "/c/s/w/b/";
        for fields in [
            // 9, 18 and 50 months without contact at the start; one with no date at all.
            json!({"whereabouts_known": false, "last_activity_on": "2015-06-01"}),
            json!({"whereabouts_known": false, "last_activity_on": "2014-09-01"}),
            json!({"whereabouts_known": false, "last_dues_paid_on": "2012-01-01"}),
            json!({"whereabouts_known": false}),
            // Not lost: contact two months before the start.
            json!({"whereabouts_known": false, "last_activity_on": "2016-01-01"}),
            json!({"contact_status": "mobile", "flow_destination": "广东省深圳市"}),
            json!({"contact_status": "mobile", "flow_destination": " 广东省深圳市 "}),
            json!({"contact_status": "mobile"}),
            // Removed from the roster: counted nowhere.
            json!({"contact_status": "mobile", "flow_destination": "上海", "roster_status": "flagged_surplus"}),
        ] {
            put(&mut facts, Collection::Members, Uuid::new_v4(), b, fields);
        }
        let removed = Uuid::new_v4();
        put(
            &mut facts,
            Collection::Members,
            removed,
            b,
            json!({"contact_status": "mobile", "flow_destination": "北京", "roster_status": "removed_from_roster"}),
        );
        let plan = facts.plan().unwrap();
        let unit = UnitRef {
            id: Uuid::new_v4(),
            path: "/c/",
        };
        let (total, _) = roll_up(&facts, unit, &[], &[], &[], Some(&plan), d("2016-03-20"));
        let bands: Vec<(&str, u64)> = total
            .counts
            .lost_by_duration
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(
            bands,
            vec![
                ("1_to_2_years", 1),
                ("6_to_12_months", 1),
                ("over_2_years", 1),
                ("unknown", 1)
            ]
        );
        assert_eq!(total.counts.lost_contact_at_start, 4);
        let to: Vec<(&str, u64)> = total
            .counts
            .mobile_by_destination
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(to, vec![("上海", 1), ("广东省深圳市", 2), ("未填写", 1)]);
    }

    #[test]
    fn phases_of_a_small_tree() {
        let mut facts = Facts::default();
        let (wa1, wa2) = ("/c/s/w1/", "/c/s/w2/");
        let (b1, b2) = ("/c/s/w1/b1/", "/c/s/w2/b2/");
        put(
            &mut facts,
            Collection::Campaigns,
            Uuid::new_v4(),
            "/c/",
            json!({"name": "x", "start_date": "2016-03-07"}),
        );
        // b1: one member verified on the 14th, one verified on the 16th (late).
        for (day, roster) in [
            ("2016-03-14", "confirmed_on_site"),
            ("2016-03-16", "confirmed_remote"),
        ] {
            let member = Uuid::new_v4();
            put(
                &mut facts,
                Collection::Members,
                member,
                b1,
                json!({"roster_status": roster}),
            );
            put(
                &mut facts,
                Collection::InfoForms,
                Uuid::new_v4(),
                b1,
                json!({"member_id": member, "confirmation_mode": "post", "confirmed_on": day}),
            );
        }
        // b2: one member not verified.
        put(
            &mut facts,
            Collection::Members,
            Uuid::new_v4(),
            b2,
            json!({}),
        );
        // w1 submitted ledger A on the 12th (late); nothing else.
        put(
            &mut facts,
            Collection::LedgerSubmissions,
            Uuid::new_v4(),
            wa1,
            json!({"ledger": "ledger_a", "status": "submitted", "received_on": "2016-03-12"}),
        );
        let plan = facts.plan().unwrap();
        let unit = |path| UnitRef {
            id: Uuid::new_v4(),
            path,
        };
        let children = [unit(wa1), unit(wa2)];
        let (total, per) = roll_up(
            &facts,
            unit("/c/"),
            &children,
            &children,
            &children,
            Some(&plan),
            d("2016-03-20"),
        );
        let state = |r: &Rollup, p: Phase| r.tallies[&p].state(plan.window(p).1, d("2016-03-20"));
        assert_eq!(state(&per[0], Phase::Verification), PhaseState::Late);
        assert_eq!(state(&per[1], Phase::Verification), PhaseState::Missing);
        assert_eq!(state(&total, Phase::Verification), PhaseState::Missing);
        assert_eq!(per[0].counts.verified_by_deadline, 1);
        // The verification progress by day: the forms' dates; the unverified member has none.
        let by_day: Vec<(&str, u64)> = total
            .counts
            .verified_by_day
            .iter()
            .map(|(d, n)| (d.as_str(), *n))
            .collect();
        assert_eq!(by_day, vec![("2016-03-14", 1), ("2016-03-16", 1)]);
        assert!(per[1].counts.verified_by_day.is_empty());
        let states: Vec<PhaseState> = total.submissions.iter().map(|s| s.state).collect();
        assert_eq!(
            states,
            vec![
                PhaseState::Late,
                PhaseState::Missing,
                PhaseState::Missing,
                PhaseState::Missing
            ]
        );
        // Overdue: b2's member, and three missing ledgers.
        assert_eq!(total.counts.overdue, 4);
        assert_eq!(per[1].counts.overdue, 3);
        // Deleting the unverified member removes it from every count.
        let before = facts.len();
        let mut ids: Vec<Uuid> = vec![];
        for ((c, id), e) in facts.records.iter() {
            if *c == Collection::Members && facts.path(e) == b2 {
                ids.push(*id);
            }
        }
        for id in ids {
            facts.apply(Collection::Members, id, b2, true, &Map::new());
        }
        assert_eq!(facts.len(), before - 1);
    }

    /// docs/domain.md §6.7: a member moved after the baseline was fixed counts at the start
    /// where he was then, and since where he is; each branch shows him moved out or in, and
    /// the unit above both sees no move.
    #[test]
    fn a_moved_member_counts_at_the_start_where_he_was_and_since_where_he_is() {
        let mut facts = Facts::default();
        let (b1, b2) = ("/c/b1/", "/c/b2/");
        let (b1_id, b2_id) = (Uuid::new_v4(), Uuid::new_v4());
        put(
            &mut facts,
            Collection::Campaigns,
            Uuid::new_v4(),
            "/c/",
            json!({"name": "x", "start_date": "2016-03-07", "baseline_on": "2016-03-08"}),
        );
        let snapshot = json!({"name": "甲", "baseline_kind": "at_start", "baseline_on": "2016-03-08",
            "baseline_lost": true, "baseline_lost_months": 30, "contact_status": "lost"});
        let mut moved = snapshot.clone();
        moved["start_branch_id"] = json!(b1_id.to_string());
        put(&mut facts, Collection::Members, Uuid::new_v4(), b2, moved);
        put(
            &mut facts,
            Collection::Members,
            Uuid::new_v4(),
            b1,
            snapshot,
        );
        let plan = facts.plan().unwrap();
        let (c, branches) = (
            UnitRef {
                id: Uuid::new_v4(),
                path: "/c/",
            },
            [
                UnitRef {
                    id: b1_id,
                    path: b1,
                },
                UnitRef {
                    id: b2_id,
                    path: b2,
                },
            ],
        );
        let (total, per) = roll_up(
            &facts,
            c,
            &branches,
            &[],
            &branches,
            Some(&plan),
            d("2016-04-01"),
        );
        let of = |r: &Rollup| {
            let n = &r.counts;
            (
                n.roster_at_start,
                n.lost_contact_at_start,
                n.members_total,
                n.moved_out,
                n.moved_in,
            )
        };
        assert_eq!(of(&total), (2, 2, 2, 0, 0));
        assert_eq!(
            of(&per[0]),
            (2, 2, 1, 1, 0),
            "branch 1 keeps his start, lost him since"
        );
        assert_eq!(
            of(&per[1]),
            (0, 0, 1, 0, 1),
            "branch 2 has him now, not at the start"
        );
        // Each branch on its own: the same.
        let (alone, _) = roll_up(
            &facts,
            branches[1],
            &[],
            &[],
            &branches,
            Some(&plan),
            d("2016-04-01"),
        );
        assert_eq!(of(&alone), (0, 0, 1, 0, 1));
        let (alone, _) = roll_up(
            &facts,
            branches[0],
            &[],
            &[],
            &branches,
            Some(&plan),
            d("2016-04-01"),
        );
        assert_eq!(of(&alone), (2, 2, 1, 1, 0));
    }

    #[test]
    fn a_suspension_stands_until_a_later_disposition_and_a_department_search_is_an_attempt() {
        let mut facts = Facts::default();
        let b = "/c/s/w/b/";
        put(
            &mut facts,
            Collection::Campaigns,
            Uuid::new_v4(),
            "/c/",
            json!({"name": "x", "start_date": "2016-03-07"}),
        );
        let (restored, suspended) = (Uuid::new_v4(), Uuid::new_v4());
        for member in [restored, suspended] {
            put(
                &mut facts,
                Collection::Members,
                member,
                b,
                json!({"roster_status": "pending_lost"}),
            );
            // Two effective suspensions of the same member: one clock.
            for on in ["2016-05-01", "2016-06-01"] {
                put(
                    &mut facts,
                    Collection::Dispositions,
                    Uuid::new_v4(),
                    b,
                    json!({"member_id": member, "disposition_type": "suspend", "status": "effective", "effective_on": on}),
                );
            }
        }
        put(
            &mut facts,
            Collection::Dispositions,
            Uuid::new_v4(),
            b,
            json!({"member_id": restored, "disposition_type": "restore_membership", "status": "effective", "effective_on": "2017-01-10"}),
        );
        // A case searched only by the committee's department search, on 30 March.
        let case = Uuid::new_v4();
        put(
            &mut facts,
            Collection::ContactCases,
            case,
            b,
            json!({"member_id": suspended}),
        );
        put(
            &mut facts,
            Collection::DepartmentSearchRequests,
            Uuid::new_v4(),
            b,
            json!({"case_id": case, "status": "done", "executed_on": "2016-03-30"}),
        );
        // A member confirmed on the 14th and confirmed again in April stays on time.
        let again = Uuid::new_v4();
        put(
            &mut facts,
            Collection::Members,
            again,
            b,
            json!({"roster_status": "confirmed_on_site"}),
        );
        for day in ["2016-03-14", "2016-04-20"] {
            put(
                &mut facts,
                Collection::InfoForms,
                Uuid::new_v4(),
                b,
                json!({"member_id": again, "confirmation_mode": "on_site", "confirmed_on": day}),
            );
        }
        let plan = facts.plan().unwrap();
        let unit = UnitRef {
            id: Uuid::new_v4(),
            path: "/c/",
        };
        let (total, _) = roll_up(&facts, unit, &[], &[], &[], Some(&plan), d("2017-02-01"));
        assert_eq!(total.counts.suspended, 1);
        assert_eq!(total.counts.cases_with_attempt, 1);
        let search = total.tallies[&Phase::Search];
        assert_eq!((search.items, search.on_time), (1, 1));
        assert_eq!(total.counts.verified_by_deadline, 1);
        assert_eq!(total.tallies[&Phase::Verification].late, 0);
        // The case was searched in time but never concluded: overdue once finalization is due
        // (2017-02-01 is after 30 June 2016), and the only overdue item.
        assert_eq!(total.tallies[&Phase::Finalization].not_done(), 1);
        assert_eq!(total.counts.overdue, 1);

        // A suspension counts from its effective_on: before the first took effect none does;
        // between the first and the restoration both members stand suspended.
        let (early, _) = roll_up(&facts, unit, &[], &[], &[], Some(&plan), d("2016-04-15"));
        assert_eq!(early.counts.suspended, 0);
        let (between, _) = roll_up(&facts, unit, &[], &[], &[], Some(&plan), d("2016-05-15"));
        assert_eq!(between.counts.suspended, 2);
    }
}
