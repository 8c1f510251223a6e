//! The declarations of the collections as a document (`GET /v1/schema`): fields with their
//! types, bounds, Chinese labels and writers; enum words with their labels; the state machines
//! with what each step must record; the rules across fields. Generated from the same
//! declarations the server validates with, so a client that renders and checks its forms from
//! it cannot drift from the server.

use std::sync::LazyLock;

use crate::api::v1::{
    CollectionDoc, EnumWord, FieldDoc, RoleDoc, RuleDoc, RuleGroup, SchemaDoc, StepDoc,
    StepRequirement, WorkflowDoc,
};
use crate::campaign::{Phase, PhaseState};
use crate::org::OrgUnitKind;
use crate::role::Role;
use crate::status::COUNT_LABELS;
use crate::words::{ACCOUNT_ACTIONS, ACCOUNT_FIELDS, AUDIT_OPS};
use crate::workflow;

use super::labels::{enum_label, words};
use super::validate::channel_method;
use super::{Collection, FieldSpec, FieldType};

/// The rules across fields of each collection (the checks of `validate::check_record` and
/// `workflow::check_role_rules`), as a client should know them.
fn rules(collection: Collection) -> Vec<RuleDoc> {
    let rule = |code: &str, field: &str, description: &str| RuleDoc {
        code: code.to_owned(),
        field: field.to_owned(),
        description: description.to_owned(),
        groups: None,
    };
    match collection {
        Collection::Members | Collection::RosterLedgerEntries => vec![
            rule(
                "birth_date_mismatch",
                "birth_date",
                "填写了公民身份号码的，出生日期须与号码第7至14位一致",
            ),
            rule(
                "gender_mismatch",
                "gender",
                "填写了公民身份号码的，性别须与号码第17位一致（奇数为男，偶数为女）",
            ),
        ],
        Collection::WorkingGroups => {
            vec![rule("working_group_size", "people", "工作组由5至9人组成")]
        }
        Collection::PerformanceChecks => vec![rule(
            "required_field",
            "department",
            "经部门核查的，须填写「核查部门」",
        )],
        Collection::ContactAttempts => {
            let channels = collection
                .schema()
                .field("channel")
                .map_or(&[][..], |spec| words(spec.ty));
            let methods = collection
                .schema()
                .field("method")
                .map_or(&[][..], |spec| words(spec.ty));
            let groups = methods
                .iter()
                .map(|method| RuleGroup {
                    value: (*method).to_owned(),
                    members: channels
                        .iter()
                        .filter(|c| channel_method(c) == Some(method))
                        .map(|c| (*c).to_owned())
                        .collect(),
                })
                .collect();
            vec![
                RuleDoc {
                    groups: Some(groups),
                    ..rule(
                        "channel_method_mismatch",
                        "channel",
                        "查找渠道须属于所选的查找方式",
                    )
                },
                rule(
                    "department_search_by_committee",
                    "method",
                    "部门查找由党支部提出申请（部门查找申请），由党工委查找并登记结果",
                ),
            ]
        }
        _ => Vec::new(),
    }
}

fn field_doc(collection: Collection, spec: &FieldSpec) -> FieldDoc {
    let (ty, max_length, min, max, references, unit_kind, max_items) = match spec.ty {
        FieldType::Text(n) => ("text", u32::try_from(n).ok(), None, None, None, None, None),
        FieldType::Date => ("date", None, None, None, None, None, None),
        FieldType::Bool => ("bool", None, None, None, None, None, None),
        FieldType::Int { min, max } => ("int", None, Some(min), Some(max), None, None, None),
        FieldType::Enum(_) => ("enum", None, None, None, None, None, None),
        FieldType::EnumList(_) => ("enum_list", None, None, None, None, None, None),
        FieldType::IdNumber => ("id_number", None, None, None, None, None, None),
        FieldType::Ref(c) => (
            "ref",
            None,
            None,
            None,
            Some(c.as_str().to_owned()),
            None,
            None,
        ),
        FieldType::Unit(kind) => ("unit", None, None, None, None, Some(kind), None),
        FieldType::Blob => ("blob", None, None, None, None, None, None),
        FieldType::BlobList => ("blob_list", None, None, None, None, None, Some(20)),
        FieldType::People => ("people", None, None, None, None, None, None),
    };
    let values = matches!(spec.ty, FieldType::Enum(_) | FieldType::EnumList(_)).then(|| {
        words(spec.ty)
            .iter()
            .map(|w| EnumWord {
                value: (*w).to_owned(),
                label: enum_label(collection, spec.name, w).unwrap_or(w).to_owned(),
            })
            .collect()
    });
    FieldDoc {
        name: spec.name.to_owned(),
        label: spec.label_zh.to_owned(),
        ty: ty.to_owned(),
        required: spec.required,
        writers: spec.writers.to_vec(),
        max_length,
        min,
        max,
        values,
        references,
        unit_kind,
        max_items,
        stamped: workflow::is_stamped(collection, spec.name),
    }
}

fn workflows(collection: Collection) -> Vec<WorkflowDoc> {
    let owned = |words: &[&str]| words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();
    workflow::machines()
        .filter(|m| m.collection == collection)
        .map(|m| WorkflowDoc {
            field: m.field.to_owned(),
            initial: owned(m.initial),
            implicit: m.implicit.to_owned(),
            ends: owned(m.ends),
            steps: m
                .steps
                .iter()
                .map(|(from, to, roles)| StepDoc {
                    from: (*from).to_owned(),
                    to: (*to).to_owned(),
                    roles: roles.to_vec(),
                })
                .collect(),
            requires: workflow::requirements(collection, m.field)
                .map(|(value, fields)| StepRequirement {
                    value: value.to_owned(),
                    fields: owned(fields),
                })
                .collect(),
        })
        .collect()
}

/// FNV-1a, 64 bits: a stable fingerprint of the document (not a security measure).
fn fingerprint(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

static DOC: LazyLock<SchemaDoc> = LazyLock::new(|| {
    let collections = Collection::ALL
        .into_iter()
        .map(|c| {
            let schema = c.schema();
            CollectionDoc {
                name: schema.name.to_owned(),
                label: schema.label_zh.to_owned(),
                owner_kinds: schema.owner_kinds.to_vec(),
                creators: schema.creators.to_vec(),
                addressed_to: schema.addressed_to.map(str::to_owned),
                fields: schema.fields.iter().map(|f| field_doc(c, f)).collect(),
                workflows: workflows(c),
                rules: rules(c),
            }
        })
        .collect();
    let roles = Role::ALL
        .into_iter()
        .map(|r| RoleDoc {
            value: r.as_str().to_owned(),
            label: r.label_zh().to_owned(),
            unit_kinds: r.unit_kinds(),
            assigns: Role::ALL.into_iter().filter(|x| r.may_assign(*x)).collect(),
            manages: Role::ALL.into_iter().filter(|x| r.manages(*x)).collect(),
        })
        .collect();
    let word = |value: &str, label: &str| EnumWord {
        value: value.to_owned(),
        label: label.to_owned(),
    };
    let table = |t: &[(&str, &str)]| t.iter().map(|(v, l)| word(v, l)).collect::<Vec<_>>();
    let mut doc = SchemaDoc {
        version: String::new(),
        collections,
        roles,
        unit_kinds: OrgUnitKind::ALL
            .into_iter()
            .map(|k| word(k.as_str(), k.label_zh()))
            .collect(),
        unit_children: OrgUnitKind::ALL
            .into_iter()
            .map(|kind| crate::api::v1::UnitChildren {
                kind,
                children: crate::org::child_kinds(kind),
            })
            .collect(),
        phases: Phase::ALL
            .into_iter()
            .map(|p| word(p.as_str(), p.label_zh()))
            .collect(),
        phase_states: PhaseState::ALL
            .into_iter()
            .map(|p| word(p.as_str(), p.label_zh()))
            .collect(),
        counts: table(COUNT_LABELS),
        audit_ops: table(AUDIT_OPS),
        account_actions: table(ACCOUNT_ACTIONS),
        account_fields: table(ACCOUNT_FIELDS),
    };
    doc.version = fingerprint(&serde_json::to_string(&doc).unwrap_or_default());
    doc
});

/// The schema document, built once.
pub fn describe() -> &'static SchemaDoc {
    &DOC
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_document_describes_every_collection_field_and_machine() {
        let doc = describe();
        assert_eq!(doc.collections.len(), Collection::ALL.len());
        assert_eq!(doc.version.len(), 16);
        for (c, d) in Collection::ALL.into_iter().zip(&doc.collections) {
            assert_eq!(d.name, c.as_str());
            assert_eq!(d.fields.len(), c.schema().fields.len());
        }
        let members = &doc.collections[0];
        let roster = members
            .workflows
            .iter()
            .find(|w| w.field == "roster_status")
            .expect("roster machine");
        assert_eq!(roster.implicit, "unverified");
        assert!(roster.steps.iter().any(|s| s.from == "flagged_surplus"
            && s.to == "removed_from_roster"
            && s.roles == [Role::OrgOffice]));
        let checked = members.fields.iter().find(|f| f.name == "checked_on");
        assert!(checked.is_some_and(|f| f.stamped && f.writers.is_empty()));
        let gender = members.fields.iter().find(|f| f.name == "gender");
        assert_eq!(
            gender.and_then(|f| f.values.clone()),
            Some(vec![
                EnumWord {
                    value: "male".into(),
                    label: "男".into()
                },
                EnumWord {
                    value: "female".into(),
                    label: "女".into()
                },
            ])
        );
        let cases = doc.collections.iter().find(|c| c.name == "contact_cases");
        let requires = cases
            .and_then(|c| c.workflows.first())
            .map(|w| w.requires.clone());
        assert_eq!(
            requires,
            Some(vec![StepRequirement {
                value: "found".into(),
                fields: vec!["found_by".into()]
            }])
        );
    }

    #[test]
    fn every_channel_belongs_to_exactly_one_method_group() {
        let doc = describe();
        let attempts = doc
            .collections
            .iter()
            .find(|c| c.name == "contact_attempts")
            .expect("attempts");
        let groups = attempts.rules[0].groups.clone().unwrap_or_default();
        let mut all: Vec<String> = groups.iter().flat_map(|g| g.members.clone()).collect();
        let count = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), count, "no channel in two groups");
        let channels = attempts.fields.iter().find(|f| f.name == "channel");
        assert_eq!(
            channels.and_then(|f| f.values.as_ref()).map(Vec::len),
            Some(count)
        );
    }
}
