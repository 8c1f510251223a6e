//! The planner without a database: a tenant in memory ([`Memory`]), mutations planned against
//! it, and what the planner answers and would write. Every per-mutation code push gives, and
//! every write the server makes because of a device's write.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeZone, Utc};
use paicha_domain::api::v1::MutationResult;
use paicha_domain::campaign::Plan;
use paicha_domain::collection::Collection;
use paicha_domain::ids::{TenantId, UnitId};
use paicha_domain::org::OrgUnitKind;
use paicha_domain::role::Role;
use paicha_storage::{ChangeEntry, OrgUnitRecord, RecordRow};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::batch::Batch;
use super::plan::{Outcome, Planned, Seen, derived_id, plan_group};
use super::read::Memory;
use super::{Job, Writer, answers};

const TENANT: TenantId = TenantId::new(Uuid::from_u128(0x7e));
const OTHER_TENANT: TenantId = TenantId::new(Uuid::from_u128(0x7f));

// Units.
const COMMITTEE: Uuid = Uuid::from_u128(0x100);
const STREET: Uuid = Uuid::from_u128(0x101);
const WORK_AREA: Uuid = Uuid::from_u128(0x102);
const BRANCH: Uuid = Uuid::from_u128(0x103);
const BRANCH2: Uuid = Uuid::from_u128(0x104);
const FOREIGN_UNIT: Uuid = Uuid::from_u128(0x1ff);

// Records of the tenant.
const MEMBER: Uuid = Uuid::from_u128(0x200);
const MEMBER_LOST: Uuid = Uuid::from_u128(0x201);
const MEMBER_IN_BASELINE: Uuid = Uuid::from_u128(0x202);
const MEMBER_CADRE_FILE: Uuid = Uuid::from_u128(0x203);
const MEMBER_DELETED: Uuid = Uuid::from_u128(0x204);
const MEMBER_WITH_NUMBER: Uuid = Uuid::from_u128(0x205);
const FOREIGN_MEMBER: Uuid = Uuid::from_u128(0x2ff);
const CAMPAIGN: Uuid = Uuid::from_u128(0x300);
const TRANSFER: Uuid = Uuid::from_u128(0x400);
const CASE: Uuid = Uuid::from_u128(0x500);
const PROPOSED: Uuid = Uuid::from_u128(0x600);
const SUBMITTED: Uuid = Uuid::from_u128(0x601);
const APPROVED: Uuid = Uuid::from_u128(0x602);
const DRAFT_SUBMISSION: Uuid = Uuid::from_u128(0x700);
const HOLDING_SUBMISSION: Uuid = Uuid::from_u128(0x701);
const APPROVED_SUBMISSION: Uuid = Uuid::from_u128(0x702);
const ENTRY_FREE: Uuid = Uuid::from_u128(0x800);
const ENTRY_OTHER_LEDGER: Uuid = Uuid::from_u128(0x801);
const ENTRY_FROZEN: Uuid = Uuid::from_u128(0x802);
const REVIEW: Uuid = Uuid::from_u128(0x650);

/// A valid 公民身份号码 (GB 11643's example: born 1949-12-31, female).
const NUMBER: &str = "11010519491231002X";

/// The time the batch writes at: 2026-05-04 in China.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 4, 2, 0, 0).unwrap()
}

fn map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn unit(id: Uuid, tenant_id: TenantId, kind: OrgUnitKind, path: &str) -> OrgUnitRecord {
    OrgUnitRecord {
        id: UnitId::new(id),
        tenant_id,
        parent_id: None,
        kind,
        name: path.to_owned(),
        code: None,
        path: path.to_owned(),
        created_at: now(),
    }
}

fn row(collection: Collection, id: Uuid, owner: &OrgUnitRecord, fields: Value) -> RecordRow {
    let fields = map(fields);
    RecordRow {
        collection,
        id,
        tenant_id: owner.tenant_id,
        org_unit_id: owner.id,
        owner_path: owner.path.clone(),
        addressee_id: None,
        addressee_path: None,
        version: 1,
        deleted: false,
        field_versions: fields.keys().map(|k| (k.clone(), json!(1))).collect(),
        fields,
        created_at: now(),
        created_by: Uuid::nil(),
        updated_at: now(),
        updated_by: Uuid::nil(),
        device_id: None,
    }
}

/// A tenant — committee, street, work area, two branches — with a campaign whose baseline is
/// fixed, and records in every state the rules look at; and another tenant's member.
fn world() -> Memory {
    use OrgUnitKind::*;
    let committee = unit(COMMITTEE, TENANT, Committee, "/c/");
    let street = unit(STREET, TENANT, Street, "/c/s/");
    let work_area = unit(WORK_AREA, TENANT, WorkArea, "/c/w/");
    let branch = unit(BRANCH, TENANT, Branch, "/c/w/b/");
    let branch2 = unit(BRANCH2, TENANT, Branch, "/c/w/b2/");
    let foreign = unit(FOREIGN_UNIT, OTHER_TENANT, Branch, "/x/");
    let mut deleted = row(
        Collection::Members,
        MEMBER_DELETED,
        &branch,
        json!({"name": "丁"}),
    );
    deleted.deleted = true;
    let mut transfer = row(
        Collection::Transfers,
        TRANSFER,
        &street,
        json!({"branch_id": BRANCH.to_string(), "member_name": "李四", "list_name": "第一批"}),
    );
    transfer.addressee_id = Some(UnitId::new(BRANCH));
    transfer.addressee_path = Some(branch.path.clone());
    let records = vec![
        row(
            Collection::Campaigns,
            CAMPAIGN,
            &committee,
            json!({"name": "2026年集中排查", "start_date": "2026-03-01", "baseline_on": "2026-03-10"}),
        ),
        row(
            Collection::Members,
            MEMBER,
            &branch,
            json!({"name": "张三", "member_type": "full"}),
        ),
        row(
            Collection::Members,
            MEMBER_LOST,
            &branch,
            json!({"name": "李四", "whereabouts_known": false, "last_activity_on": "2024-01-05", "last_dues_paid_on": "2024-01-05"}),
        ),
        row(
            Collection::Members,
            MEMBER_IN_BASELINE,
            &branch,
            json!({"name": "王五", "baseline_kind": "at_start", "baseline_on": "2026-03-10"}),
        ),
        row(
            Collection::Members,
            MEMBER_CADRE_FILE,
            &branch,
            json!({"name": "赵六", "cadre_file": true, "member_type": "probationary"}),
        ),
        deleted,
        row(
            Collection::Members,
            MEMBER_WITH_NUMBER,
            &branch,
            json!({"name": "钱七", "id_number": NUMBER}),
        ),
        row(
            Collection::Members,
            FOREIGN_MEMBER,
            &foreign,
            json!({"name": "外"}),
        ),
        transfer,
        row(
            Collection::ContactCases,
            CASE,
            &branch,
            json!({"member_id": MEMBER.to_string()}),
        ),
        row(
            Collection::ArchiveReviews,
            REVIEW,
            &branch,
            json!({"member_id": MEMBER.to_string(), "status": "under_review"}),
        ),
        row(
            Collection::Dispositions,
            PROPOSED,
            &branch,
            json!({"member_id": MEMBER.to_string(), "disposition_type": "remove", "status": "proposed"}),
        ),
        row(
            Collection::Dispositions,
            SUBMITTED,
            &branch,
            json!({"member_id": MEMBER.to_string(), "disposition_type": "remove", "status": "submitted"}),
        ),
        row(
            Collection::Dispositions,
            APPROVED,
            &branch,
            json!({"member_id": MEMBER.to_string(), "disposition_type": "remove", "status": "approved"}),
        ),
        row(
            Collection::LedgerSubmissions,
            DRAFT_SUBMISSION,
            &work_area,
            json!({"ledger": "ledger_a", "status": "draft"}),
        ),
        row(
            Collection::LedgerSubmissions,
            HOLDING_SUBMISSION,
            &work_area,
            json!({"ledger": "ledger_a", "status": "submitted"}),
        ),
        row(
            Collection::LedgerSubmissions,
            APPROVED_SUBMISSION,
            &work_area,
            json!({"ledger": "ledger_b", "status": "approved"}),
        ),
        row(
            Collection::RosterLedgerEntries,
            ENTRY_FREE,
            &branch,
            json!({"ledger": "ledger_a", "name": "甲"}),
        ),
        row(
            Collection::RosterLedgerEntries,
            ENTRY_OTHER_LEDGER,
            &branch,
            json!({"ledger": "ledger_b", "name": "乙", "submission_id": APPROVED_SUBMISSION.to_string()}),
        ),
        row(
            Collection::RosterLedgerEntries,
            ENTRY_FROZEN,
            &branch,
            json!({"ledger": "ledger_a", "name": "丙", "submission_id": HOLDING_SUBMISSION.to_string()}),
        ),
    ];
    Memory {
        tenant_id: TENANT,
        units: vec![committee, street, work_area, branch, branch2, foreign],
        records,
    }
}

/// What the planner answered and would write.
struct Planning {
    results: Vec<MutationResult>,
    planned: Vec<Planned>,
    entries: Vec<ChangeEntry>,
    created: Vec<RecordRow>,
    changed: Vec<RecordRow>,
}

impl Planning {
    /// Each result's error code and field, or its status.
    fn codes(&self) -> Vec<(String, Option<String>)> {
        self.results
            .iter()
            .map(|r| match &r.error {
                Some(e) => (e.code.clone(), e.field.clone()),
                None => (format!("{:?}", r.status).to_lowercase(), None),
            })
            .collect()
    }

    fn written(&self, collection: Collection, id: Uuid) -> Option<&RecordRow> {
        self.created
            .iter()
            .chain(&self.changed)
            .find(|r| r.collection == collection && r.id == id)
    }
}

/// Plans `mutations` pushed by `role` bound to `unit`, with `seen` stored results.
async fn plan_seen(
    memory: &Memory,
    role: Role,
    unit: Uuid,
    mutations: &[Value],
    seen: &Seen,
) -> Planning {
    let path = memory
        .units
        .iter()
        .find(|u| u.id.uuid() == unit)
        .map(|u| u.path.clone())
        .unwrap_or_default();
    let writer = Writer {
        user_id: Uuid::from_u128(0x900),
        role,
        tenant_id: TENANT,
        unit_path: &path,
        device_id: "test-device",
    };
    let job = Job::new(writer, mutations);
    let jobs = std::slice::from_ref(&job);
    let mut batch = Batch::new(memory, job.writer(), now(), 10, "head".to_owned());
    let planned = plan_group(&mut batch, jobs, seen).await.unwrap();
    let kept = planned.clone();
    let missing = vec![vec![]; batch.blob_refs.len()];
    let (mut results, _) = answers(jobs, planned, &missing).unwrap();
    Planning {
        results: results.pop().unwrap_or_default(),
        planned: kept.into_iter().next().unwrap_or_default(),
        entries: batch.entries.clone(),
        created: batch.created_rows().into_iter().cloned().collect(),
        changed: batch.changed_rows().into_iter().cloned().collect(),
    }
}

async fn plan(role: Role, unit: Uuid, mutations: &[Value]) -> Planning {
    plan_seen(&world(), role, unit, mutations, &Seen::new()).await
}

fn put(mutation_id: i64, collection: &str, id: Uuid, unit: Uuid, fields: Value) -> Value {
    json!({"mutation_id": mutation_id, "collection": collection, "id": id, "org_unit_id": unit, "op": "put", "fields": fields})
}

fn patch(mutation_id: i64, collection: &str, id: Uuid, fields: Value) -> Value {
    json!({"mutation_id": mutation_id, "collection": collection, "id": id, "op": "patch", "fields": fields})
}

fn delete(mutation_id: i64, collection: &str, id: Uuid) -> Value {
    json!({"mutation_id": mutation_id, "collection": collection, "id": id, "op": "delete"})
}

fn new_id() -> Uuid {
    Uuid::now_v7()
}

/// One case: who pushes, the mutation, the code and field expected.
type Case = (Role, Uuid, Value, &'static str, Option<&'static str>);

/// Every per-mutation rejection code push gives (docs/protocol.md §1.5; `id_number_legacy_15`
/// is no longer answered), each refused by the planner alone.
fn rejection_cases() -> Vec<Case> {
    use Role::*;
    let secretary = |m: Value, code, field| (BranchSecretary, BRANCH, m, code, field);
    let member = |fields: Value| put(1, "members", new_id(), BRANCH, fields);
    vec![
        // The mutation itself.
        secretary(json!({"mutation_id": 1, "collection": "members", "op": "put"}), "invalid_mutation", None),
        secretary(member(json!({"name": "a\u{0}"})), "invalid_mutation", None),
        secretary(
            json!({"mutation_id": 1, "collection": "members", "id": new_id(), "op": "delete", "client_time": "9".repeat(65)}),
            "invalid_mutation",
            Some("client_time"),
        ),
        secretary(delete(0, "members", MEMBER), "invalid_mutation_id", Some("mutation_id")),
        secretary(delete(1, "nope", MEMBER), "unknown_collection", Some("collection")),
        secretary(
            json!({"mutation_id": 1, "collection": "members", "id": MEMBER, "op": "upsert"}),
            "invalid_op",
            Some("op"),
        ),
        // Where the record is, and whose.
        secretary(
            json!({"mutation_id": 1, "collection": "members", "id": new_id(), "op": "put", "fields": {"name": "甲"}}),
            "org_unit_required",
            Some("org_unit_id"),
        ),
        (WorkAreaStaff, WORK_AREA, put(1, "members", new_id(), WORK_AREA, json!({"name": "甲"})), "invalid_owner_unit", Some("org_unit_id")),
        secretary(patch(1, "members", MEMBER, json!({"name": "甲"})).tap_unit(BRANCH2), "org_unit_immutable", Some("org_unit_id")),
        (CommitteeAdmin, COMMITTEE, member(json!({"name": "甲"})), "forbidden", None),
        (CommitteeAdmin, COMMITTEE, delete(1, "members", MEMBER), "forbidden", None),
        (BranchSecretary, BRANCH2, patch(1, "members", MEMBER, json!({"name": "甲"})), "outside_scope", Some("id")),
        secretary(put(1, "members", new_id(), BRANCH2, json!({"name": "甲"})), "outside_scope", Some("org_unit_id")),
        secretary(delete(1, "transfers", TRANSFER), "outside_scope", Some("id")),
        secretary(patch(1, "members", new_id(), json!({"name": "甲"})), "not_found", Some("id")),
        secretary(delete(1, "members", FOREIGN_MEMBER), "not_found", Some("id")),
        secretary(put(1, "members", new_id(), FOREIGN_UNIT, json!({"name": "甲"})), "not_found", Some("org_unit_id")),
        secretary(put(1, "members", FOREIGN_MEMBER, BRANCH, json!({"name": "甲"})), "id_taken", Some("id")),
        secretary(patch(1, "members", MEMBER_DELETED, json!({"name": "甲"})), "record_deleted", Some("id")),
        // The fields.
        secretary(member(json!({"gender": "male"})), "required_field", Some("name")),
        secretary(member(json!({"name": "甲", "nickname": "乙"})), "unknown_field", Some("nickname")),
        secretary(member(json!({"name": "甲", "baseline_lost": true})), "field_not_writable", Some("baseline_lost")),
        secretary(member(json!({"name": "甲", "birth_date": "2026-13-01"})), "invalid_field_value", Some("birth_date")),
        secretary(member(json!({"name": "甲", "gender": "x"})), "invalid_enum_value", Some("gender")),
        secretary(
            put(1, "info_forms", new_id(), BRANCH, json!({"member_id": new_id(), "confirmation_mode": "on_site"})),
            "invalid_reference",
            Some("member_id"),
        ),
        secretary(member(json!({"name": "甲", "id_number": "1101051949"})), "id_number_length", Some("id_number")),
        secretary(member(json!({"name": "甲", "id_number": "1101051949123100AX"})), "id_number_character", Some("id_number")),
        secretary(member(json!({"name": "甲", "id_number": "110105194913310021"})), "id_number_birth_date", Some("id_number")),
        secretary(member(json!({"name": "甲", "id_number": "110105194912310021"})), "id_number_check_digit", Some("id_number")),
        secretary(member(json!({"name": "甲", "id_number": "110105********002X"})), "id_number_masked", Some("id_number")),
        secretary(member(json!({"name": "甲", "id_number": NUMBER})), "id_number_taken", Some("id_number")),
        secretary(member(json!({"name": "甲", "id_number": "11010519491231002x", "birth_date": "1950-01-01"})).tap_id(MEMBER_WITH_NUMBER), "birth_date_mismatch", Some("birth_date")),
        secretary(member(json!({"name": "甲", "id_number": NUMBER, "gender": "male"})).tap_id(MEMBER_WITH_NUMBER), "gender_mismatch", Some("gender")),
        secretary(
            put(1, "working_groups", new_id(), BRANCH, json!({"people": [{"name": "一"}, {"name": "二"}]})),
            "working_group_size",
            Some("people"),
        ),
        secretary(
            put(1, "contact_attempts", new_id(), BRANCH, json!({"case_id": CASE, "attempted_on": "2026-05-01", "method": "direct", "channel": "tax", "result": "no_lead"})),
            "channel_method_mismatch",
            Some("channel"),
        ),
        secretary(
            put(1, "archive_reviews", new_id(), BRANCH, json!({"member_id": MEMBER_CADRE_FILE})),
            "cadre_file_not_reviewed",
            Some("member_id"),
        ),
        secretary(
            put(1, "dispositions", new_id(), BRANCH, json!({"member_id": MEMBER, "disposition_type": "cancel_probation"})),
            "disposition_does_not_fit",
            Some("disposition_type"),
        ),
        secretary(
            put(1, "dispositions", new_id(), BRANCH, json!({"member_id": MEMBER_CADRE_FILE, "disposition_type": "suspend"})),
            "disposition_does_not_fit",
            Some("disposition_type"),
        ),
        secretary(
            patch(1, "dispositions", PROPOSED, json!({"disposition_type": "probation_not_retained"})),
            "disposition_does_not_fit",
            Some("disposition_type"),
        ),
        (
            CommitteeAdmin,
            COMMITTEE,
            patch(1, "archive_reviews", REVIEW, json!({"status": "exempt_confirmed", "exemption": "retired"})),
            "exemption_needs_branch_decision",
            Some("exemption"),
        ),
        secretary(birth_in_future(), "date_in_future", Some("birth_date")),
        // The rules of the steps.
        secretary(patch(1, "dispositions", PROPOSED, json!({"status": "branch_meeting_decided"})), "required_for_step", Some("branch_meeting_on")),
        secretary(patch(1, "members", MEMBER, json!({"roster_status": "confirmed_on_site"})), "confirmation_needs_form", Some("roster_status")),
        secretary(patch(1, "roster_ledger_entries", ENTRY_FROZEN, json!({"name": "丁"})), "ledger_entry_frozen", Some("id")),
        secretary(delete(1, "roster_ledger_entries", ENTRY_FROZEN), "ledger_entry_frozen", Some("id")),
        secretary(
            put(1, "contact_attempts", new_id(), BRANCH, json!({"case_id": CASE, "attempted_on": "2026-05-01", "method": "department", "result": "no_lead"})),
            "department_search_by_committee",
            Some("method"),
        ),
        secretary(
            put(1, "dispositions", new_id(), BRANCH, json!({"member_id": MEMBER, "disposition_type": "remove", "status": "approved"})),
            "invalid_transition",
            Some("status"),
        ),
        secretary(patch(1, "dispositions", SUBMITTED, json!({"status": "approved"})), "transition_not_allowed", Some("status")),
        // What the numbers reported rest on.
        secretary(delete(1, "members", MEMBER_IN_BASELINE), "member_in_baseline", Some("id")),
        secretary(delete(1, "dispositions", APPROVED), "disposition_decided", Some("id")),
        (WorkAreaStaff, WORK_AREA, delete(1, "ledger_submissions", APPROVED_SUBMISSION), "submission_approved", Some("id")),
        // Ledger B's one entry is in its approved submission: a 补报 would hand in nothing.
        (WorkAreaStaff, WORK_AREA, put(1, "ledger_submissions", new_id(), WORK_AREA, json!({"ledger": "ledger_b", "status": "submitted"})), "supplement_empty", Some("status")),
        (CommitteeAdmin, COMMITTEE, delete(1, "campaigns", CAMPAIGN), "campaign_fixed", Some("id")),
        (CommitteeAdmin, COMMITTEE, patch(1, "campaigns", CAMPAIGN, json!({"start_date": "2026-03-02"})), "campaign_fixed", Some("start_date")),
        (
            CommitteeAdmin,
            COMMITTEE,
            put(1, "campaigns", new_id(), COMMITTEE, json!({"name": "又一项", "start_date": "2026-04-01"})),
            "campaign_exists",
            None,
        ),
    ]
}

fn birth_in_future() -> Value {
    put(
        1,
        "members",
        new_id(),
        BRANCH,
        json!({"name": "甲", "birth_date": "2026-06-01"}),
    )
}

/// Small edits of a mutation for a case.
trait Tap {
    fn tap_unit(self, unit: Uuid) -> Self;
    fn tap_id(self, id: Uuid) -> Self;
}

impl Tap for Value {
    fn tap_unit(mut self, unit: Uuid) -> Self {
        self["org_unit_id"] = json!(unit);
        self
    }

    /// The record is an existing one (a put replacing it), so its own number is not "taken".
    fn tap_id(mut self, id: Uuid) -> Self {
        self["id"] = json!(id);
        self
    }
}

#[tokio::test]
async fn every_rejection_code_is_given_by_the_planner() {
    for (role, unit, mutation, code, field) in rejection_cases() {
        let planning = plan(role, unit, std::slice::from_ref(&mutation)).await;
        let expected = (code.to_owned(), field.map(str::to_owned));
        assert_eq!(planning.codes(), vec![expected], "{mutation}");
        // A refused mutation writes nothing.
        assert!(planning.entries.is_empty(), "{mutation}");
        assert!(planning.created.is_empty() && planning.changed.is_empty());
        let message = &planning.results[0].error.as_ref().unwrap().message;
        assert!(
            message
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
        );
    }
}

/// The cases cover every per-mutation code of docs/protocol.md §1.5 but the retired ones, and
/// `mutation_id_reused` (tested below, since it needs a first mutation).
#[test]
fn the_cases_cover_the_protocols_codes() {
    let protocol = include_str!("../../../../docs/protocol.md");
    let start = protocol.find("### 1.5 Per-mutation codes").unwrap();
    let table = &protocol[start..];
    let table = &table[..table.find("\n## ").unwrap()];
    let listed: Vec<&str> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| `")?.split('`').next())
        .collect();
    let cases: Vec<&str> = rejection_cases().iter().map(|c| c.3).collect();
    for code in &listed {
        if matches!(
            *code,
            "id_number_legacy_15" | "field_immutable" | "mutation_id_reused"
        ) {
            continue;
        }
        assert!(cases.contains(code), "no case gives {code}");
    }
    assert!(listed.len() > 40, "{listed:?}");
}

#[tokio::test]
async fn a_used_id_with_other_content_is_refused_a_retry_is_a_duplicate() {
    let id = new_id();
    let first = put(5, "members", id, BRANCH, json!({"name": "甲"}));
    let retry = first.clone();
    let other = put(5, "members", id, BRANCH, json!({"name": "乙"}));
    let planning = plan(Role::BranchSecretary, BRANCH, &[first, retry, other]).await;
    assert_eq!(
        planning.codes(),
        vec![
            ("applied".into(), None),
            ("duplicate".into(), None),
            ("mutation_id_reused".into(), Some("mutation_id".into())),
        ]
    );
    assert!(matches!(
        planning.planned[1].outcome,
        Outcome::Again { job: 0, index: 0 }
    ));
    // Only the first is written, and only its result is kept.
    assert_eq!(planning.entries.len(), 1);
    let kept: Vec<bool> = planning.planned.iter().map(|p| p.keep.is_some()).collect();
    assert_eq!(kept, [true, false, false]);
}

#[tokio::test]
async fn a_stored_result_answers_a_retry_and_refuses_other_content() {
    let id = new_id();
    let m = put(5, "members", id, BRANCH, json!({"name": "甲"}));
    let parsed = super::parse::parse(&m).unwrap();
    let print = super::parse::fingerprint(&parsed);
    let stored = json!({"mutation_id": 5, "status": "applied", "version": 3});
    let mut seen = Seen::new();
    seen.insert(
        (Uuid::from_u128(0x900), "test-device".to_owned(), 5),
        (stored, Some(print)),
    );
    let other = put(5, "members", id, BRANCH, json!({"name": "乙"}));
    let planning = plan_seen(&world(), Role::BranchSecretary, BRANCH, &[m, other], &seen).await;
    assert_eq!(
        planning.codes(),
        vec![
            ("duplicate".into(), None),
            ("mutation_id_reused".into(), Some("mutation_id".into())),
        ]
    );
    assert_eq!(planning.results[0].version, Some(3));
    assert!(planning.entries.is_empty());
}

/// The follow-up writes of one planned mutation: (collection, record) in order.
fn follow_ups(p: &Planned) -> Vec<(Collection, Uuid)> {
    match &p.outcome {
        Outcome::Applied(a) => a.follow_ups.clone(),
        other => panic!("not applied: {other:?}"),
    }
}

#[tokio::test]
async fn a_submitted_ledger_takes_and_freezes_its_free_entries() {
    let planning = plan(
        Role::WorkAreaStaff,
        WORK_AREA,
        &[patch(
            1,
            "ledger_submissions",
            DRAFT_SUBMISSION,
            json!({"status": "submitted"}),
        )],
    )
    .await;
    assert_eq!(planning.codes(), vec![("applied".into(), None)]);
    // Only the free entry of its ledger: not the other ledger's, not the one another
    // submission holds.
    assert_eq!(
        follow_ups(&planning.planned[0]),
        vec![(Collection::RosterLedgerEntries, ENTRY_FREE)]
    );
    let entry = planning
        .written(Collection::RosterLedgerEntries, ENTRY_FREE)
        .unwrap();
    assert_eq!(
        entry.fields["submission_id"],
        json!(DRAFT_SUBMISSION.to_string())
    );
    let submission = planning
        .written(Collection::LedgerSubmissions, DRAFT_SUBMISSION)
        .unwrap();
    assert_eq!(submission.fields["submitted_entries"], json!(1));
    // Ledger A is handed in already (HOLDING_SUBMISSION): this one is a 补报.
    assert_eq!(submission.fields["supplementary"], json!(true));
    assert_eq!(submission.fields["received_on"], json!("2026-05-04"));
    assert_eq!(
        submission.fields["entries_sha256"].as_str().map(str::len),
        Some(64)
    );
    // The change log: the submission, then the entry's mark under the same mutation.
    let log: Vec<(&str, Uuid, &str, i64)> = planning
        .entries
        .iter()
        .map(|e| {
            (
                e.collection.as_str(),
                e.record_id,
                e.op.as_str(),
                e.mutation_id,
            )
        })
        .collect();
    assert_eq!(
        log,
        vec![
            ("ledger_submissions", DRAFT_SUBMISSION, "patch", 1),
            ("roster_ledger_entries", ENTRY_FREE, "patch", 1),
        ]
    );
    assert_eq!(planning.entries[0].prev_hash, "head");
    assert_eq!(planning.entries[1].prev_hash, planning.entries[0].hash);
    assert_eq!(
        (planning.entries[0].version, planning.entries[1].version),
        (11, 12)
    );
}

#[tokio::test]
async fn a_transfer_registered_lost_opens_one_contact_case() {
    let lost = patch(
        1,
        "transfers",
        TRANSFER,
        json!({"member_id": MEMBER_LOST, "registered_lost": true}),
    );
    let planning = plan(Role::BranchSecretary, BRANCH, std::slice::from_ref(&lost)).await;
    assert_eq!(planning.codes(), vec![("applied".into(), None)]);
    let case_id = derived_id(TRANSFER, "contact_case");
    assert_eq!(
        follow_ups(&planning.planned[0]),
        vec![(Collection::ContactCases, case_id)]
    );
    let case = planning.written(Collection::ContactCases, case_id).unwrap();
    assert_eq!(case.org_unit_id, UnitId::new(BRANCH));
    assert_eq!(case.fields["member_id"], json!(MEMBER_LOST.to_string()));
    assert_eq!(case.fields["result"], json!("searching"));
    assert_eq!(
        case.fields["remarks"],
        json!("转出后接收方党组织联系不上，登记为失联党员（第一批：李四），由系统据转出明细开立")
    );
    let memory = world();
    let member = memory.records.iter().find(|r| r.id == MEMBER_LOST).unwrap();
    let plan_of = Plan::from_fields(&memory.records[0].fields).unwrap();
    let months = paicha_domain::baseline::lost_months(&member.fields, &plan_of);
    assert!(months.is_some());
    assert_eq!(
        case.fields.get("lost_months_at_start"),
        months.map(Value::from).as_ref()
    );
    let entry = planning.entries.last().unwrap();
    assert_eq!(
        (
            entry.collection.as_str(),
            entry.op.as_str(),
            entry.mutation_id
        ),
        ("contact_cases", "put", 1)
    );

    // A member with an open case keeps it: no second one.
    let open = patch(
        1,
        "transfers",
        TRANSFER,
        json!({"member_id": MEMBER, "registered_lost": true}),
    );
    let planning = plan(Role::BranchSecretary, BRANCH, &[open]).await;
    assert_eq!(planning.codes(), vec![("applied".into(), None)]);
    assert!(follow_ups(&planning.planned[0]).is_empty());

    // The case of this transfer exists already (a retry, a second edit): none again.
    let mut memory = world();
    let branch = memory.units[3].clone();
    memory.records.push(row(
        Collection::ContactCases,
        case_id,
        &branch,
        json!({"member_id": MEMBER_LOST.to_string(), "result": "found"}),
    ));
    let planning = plan_seen(
        &memory,
        Role::BranchSecretary,
        BRANCH,
        &[lost],
        &Seen::new(),
    )
    .await;
    assert!(follow_ups(&planning.planned[0]).is_empty());
}

/// 补办回执: a receipt recorded after the transfer was given up as unreachable ends, as found,
/// the search its loss opened (here in the same group, the case written by the first mutation).
#[tokio::test]
async fn a_late_receipt_ends_the_case_the_loss_opened() {
    let mutations = [
        patch(
            1,
            "transfers",
            TRANSFER,
            json!({"member_id": MEMBER_LOST, "registered_lost": true, "receipt_status": "receiver_unreachable"}),
        ),
        patch(
            2,
            "transfers",
            TRANSFER,
            json!({"receipt_status": "receipt_reissued", "receipt_on": "2026-05-03"}),
        ),
    ];
    let planning = plan(Role::BranchSecretary, BRANCH, &mutations).await;
    assert_eq!(
        planning.codes(),
        vec![("applied".into(), None), ("applied".into(), None)]
    );
    let case_id = derived_id(TRANSFER, "contact_case");
    let case = planning.written(Collection::ContactCases, case_id).unwrap();
    assert_eq!(case.fields["result"], json!("found"));
    assert_eq!(case.fields["found_on"], json!("2026-05-03"));
    let ops: Vec<_> = planning
        .entries
        .iter()
        .map(|e| (e.collection.as_str(), e.op.as_str(), e.mutation_id))
        .collect();
    assert_eq!(
        ops,
        vec![
            ("transfers", "patch", 1),
            ("contact_cases", "put", 1),
            ("transfers", "patch", 2),
            ("contact_cases", "patch", 2),
        ]
    );
}

#[tokio::test]
async fn the_server_computes_and_stamps_fields_of_the_write() {
    let member = new_id();
    let case = new_id();
    let attempt = new_id();
    let planning = plan(
        Role::BranchSecretary,
        BRANCH,
        &[
            // Recorded after the baseline was fixed: its snapshot, of kind `added`.
            put(1, "members", member, BRANCH, json!({"name": "新"})),
            // A contact case takes its member's months lost at the start.
            put(2, "contact_cases", case, BRANCH, json!({"member_id": MEMBER_LOST})),
            // A date typed more than three days before it reached the server: 补录.
            put(3, "contact_attempts", attempt, BRANCH, json!({"case_id": case, "attempted_on": "2026-04-01", "method": "direct", "result": "no_lead"})),
            // A verification outcome: the day the server learnt it.
            patch(4, "members", MEMBER, json!({"roster_status": "flagged_surplus"})),
        ],
    )
    .await;
    let ok = ("applied".to_owned(), None);
    assert_eq!(
        planning.codes(),
        vec![ok.clone(), ok.clone(), ok.clone(), ok]
    );
    for p in &planning.planned {
        assert!(follow_ups(p).is_empty());
    }
    let written = |c, id| &planning.written(c, id).unwrap().fields;
    let m = written(Collection::Members, member);
    assert_eq!(m["baseline_kind"], json!("added"));
    assert_eq!(m["baseline_on"], json!("2026-05-04"));
    assert!(written(Collection::ContactCases, case)["lost_months_at_start"].is_u64());
    let a = written(Collection::ContactAttempts, attempt);
    assert_eq!(
        (&a["entered_on"], &a["late_entry"]),
        (&json!("2026-05-04"), &json!(true))
    );
    assert_eq!(
        written(Collection::Members, MEMBER)["checked_on"],
        json!("2026-05-04")
    );
}

#[tokio::test]
async fn later_mutations_see_the_earlier_ones_of_the_group() {
    let member = new_id();
    // Before the baseline is fixed: a member recorded now may still be deleted.
    let mut memory = world();
    memory.records[0].fields.remove("baseline_on");
    let planning = plan_seen(
        &memory,
        Role::BranchSecretary,
        BRANCH,
        &[
            put(
                1,
                "members",
                member,
                BRANCH,
                json!({"name": "甲", "id_number": "110105194912310011"}),
            ),
            put(
                2,
                "members",
                new_id(),
                BRANCH,
                json!({"name": "乙", "id_number": "110105194912310011"}),
            ),
            delete(3, "members", member),
            put(
                4,
                "members",
                new_id(),
                BRANCH,
                json!({"name": "丙", "id_number": "110105194912310011"}),
            ),
            patch(5, "members", member, json!({"name": "丁"})),
            delete(6, "members", member),
        ],
        &Seen::new(),
    )
    .await;
    let codes: Vec<String> = planning.codes().into_iter().map(|c| c.0).collect();
    assert_eq!(
        codes,
        [
            "applied",
            "id_number_taken",
            "applied",
            "applied",
            "record_deleted",
            "applied"
        ]
    );
    // A delete of a deleted record changes nothing: its version stays.
    assert_eq!(planning.results[5].version, planning.results[2].version);
}

mod merge_property {
    //! Field-level merge, as a property: whatever the fields another write changed after the
    //! patch's base, the patch changes exactly its own fields, and reports as conflicts exactly
    //! those of them written after its base, with the values they overwrote.

    use proptest::prelude::*;

    use super::*;

    const FIELDS: [&str; 5] = ["name", "phone", "remarks", "ethnicity", "education"];

    /// The record: each field's value and the version that last wrote it (the record is at
    /// the highest of them).
    fn stored(versions: &[u64; 5]) -> (Memory, RecordRow) {
        let branch = unit(BRANCH, TENANT, OrgUnitKind::Branch, "/c/w/b/");
        let fields: Value = FIELDS
            .iter()
            .map(|f| ((*f).to_owned(), json!(format!("旧{f}"))))
            .collect::<Map<String, Value>>()
            .into();
        let mut record = row(Collection::Members, MEMBER, &branch, fields);
        record.field_versions = FIELDS
            .iter()
            .zip(versions)
            .map(|(f, v)| ((*f).to_owned(), json!(v)))
            .collect();
        record.version = versions.iter().copied().max().unwrap_or(1);
        let memory = Memory {
            tenant_id: TENANT,
            units: vec![branch],
            records: vec![record.clone()],
        };
        (memory, record)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn a_patch_changes_its_fields_and_reports_exactly_the_overwritten_ones(
            versions in proptest::array::uniform5(1u64..=6),
            base in 0u64..=6,
            written in proptest::sample::subsequence(FIELDS.to_vec(), 1..=5),
            values in proptest::collection::vec("[a-z]{1,6}", 5),
        ) {
            let (memory, before) = stored(&versions);
            let patch_fields: Map<String, Value> = written
                .iter()
                .zip(&values)
                .map(|(f, v)| ((*f).to_owned(), json!(v)))
                .collect();
            let mut mutation = patch(1, "members", MEMBER, Value::Object(patch_fields.clone()));
            mutation["base_version"] = json!(base);
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let planning = runtime.block_on(plan_seen(
                &memory,
                Role::BranchSecretary,
                BRANCH,
                &[mutation],
                &Seen::new(),
            ));
            let result = &planning.results[0];
            prop_assert!(result.error.is_none(), "{:?}", result);
            let after = planning
                .changed
                .iter()
                .find(|r| r.id == MEMBER)
                .expect("the member is changed");
            let version = result.version.expect("a version");
            for (i, field) in FIELDS.iter().enumerate() {
                match patch_fields.get(*field) {
                    Some(new) => {
                        prop_assert_eq!(after.fields.get(*field), Some(new));
                        prop_assert_eq!(&after.field_versions[*field], &json!(version));
                    }
                    None => {
                        prop_assert_eq!(after.fields.get(*field), before.fields.get(*field));
                        prop_assert_eq!(&after.field_versions[*field], &json!(versions[i]));
                    }
                }
            }
            let mut expected: Vec<(String, Value, u64)> = FIELDS
                .iter()
                .zip(versions)
                .filter(|(f, v)| patch_fields.contains_key(**f) && *v > base)
                .map(|(f, v)| ((*f).to_owned(), before.fields[*f].clone(), v))
                .collect();
            expected.sort_by(|a, b| a.0.cmp(&b.0));
            let mut reported: Vec<(String, Value, u64)> = result
                .conflicts
                .iter()
                .flatten()
                .map(|c| (c.field.clone(), c.overwritten_value.clone(), c.overwritten_version))
                .collect();
            reported.sort_by(|a, b| a.0.cmp(&b.0));
            prop_assert_eq!(reported, expected);
        }
    }
}
