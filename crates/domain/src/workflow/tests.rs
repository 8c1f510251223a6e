use super::*;
use crate::collection::FieldType;

/// Every value of every status field can reach an end of its machine (no dead ends).
#[test]
fn every_state_reaches_an_end() {
    for machine in MACHINES {
        let spec = machine
            .collection
            .schema()
            .field(machine.field)
            .unwrap_or_else(|| panic!("{}.{}", machine.collection.as_str(), machine.field));
        let crate::collection::FieldType::Enum(values) = spec.ty else {
            panic!("{} is not an enum", machine.field);
        };
        for end in machine.ends {
            assert!(values.contains(end), "end {end} of {}", machine.field);
        }
        for start in values.iter() {
            let mut seen = vec![*start];
            let mut queue = vec![*start];
            while let Some(at) = queue.pop() {
                for (from, to, _) in machine.steps {
                    if *from == at && !seen.contains(to) {
                        seen.push(to);
                        queue.push(to);
                    }
                }
            }
            assert!(
                seen.iter().any(|s| machine.ends.contains(s)),
                "{}.{}: from {start} no end can be reached",
                machine.collection.as_str(),
                machine.field
            );
        }
    }
}

/// A member confirmed (or pending because lost) and later found dead leaves the roster.
#[test]
fn a_confirmed_member_can_still_leave_the_roster() {
    let reach = |from: &str, to: &str| {
        let mut seen = vec![from.to_owned()];
        let mut queue = vec![from.to_owned()];
        while let Some(at) = queue.pop() {
            for (f, t, _) in ROSTER.steps {
                if *f == at && !seen.iter().any(|s| s == t) {
                    seen.push((*t).to_owned());
                    queue.push((*t).to_owned());
                }
            }
        }
        seen.iter().any(|s| s == to)
    };
    for from in [
        "confirmed_on_site",
        "confirmed_remote",
        "confirmed_assisted",
        "pending_lost",
    ] {
        assert!(reach(from, "removed_from_roster"), "{from}");
    }
    assert!(
        check_transition(
            Collection::Members,
            "contact_status",
            Start::Existing(Some("lost")),
            Some("found"),
            BranchSecretary
        )
        .is_ok()
    );
}

#[test]
fn every_machine_names_words_of_its_field() {
    for m in MACHINES {
        let spec = m.collection.schema().field(m.field);
        let Some(FieldType::Enum(words)) = spec.map(|s| s.ty) else {
            panic!("{}.{} is not an enum field", m.collection.as_str(), m.field);
        };
        for w in m
            .initial
            .iter()
            .chain(m.steps.iter().flat_map(|(f, t, _)| [f, t]))
        {
            assert!(
                words.contains(w),
                "{}.{}: {w}",
                m.collection.as_str(),
                m.field
            );
        }
        // Whoever a step belongs to may write the field at all.
        let writers = spec.map(|s| s.writers).unwrap_or_default();
        for (_, _, roles) in m.steps {
            assert!(
                roles.iter().all(|r| writers.contains(r)),
                "{}.{}",
                m.collection.as_str(),
                m.field
            );
        }
    }
}

/// Every move the machines of §6 do not list is refused with `invalid_transition`, for
/// every role; every listed move by a role it does not belong to with
/// `transition_not_allowed`; a new record in a state it cannot start in likewise.
#[test]
fn every_move_outside_the_machines_is_refused_with_a_code() {
    let mut refused = 0;
    for m in MACHINES {
        let Some(FieldType::Enum(words)) = m.collection.schema().field(m.field).map(|s| s.ty)
        else {
            panic!("{} is not an enum", m.field);
        };
        let code = |from: Start<'_>, to: &str, role: Role| {
            check_transition(m.collection, m.field, from, Some(to), role)
                .err()
                .map(|e| e.code)
        };
        for to in words.iter().copied() {
            for role in Role::ALL {
                let expected = (!m.initial.contains(&to)).then_some("invalid_transition");
                assert_eq!(code(Start::New, to, role), expected, "new {to}");
            }
            for from in words.iter().copied() {
                if from == to {
                    continue; // not a move: an unchanged value is never checked
                }
                for role in Role::ALL {
                    let step = m.steps.iter().find(|(f, t, _)| *f == from && *t == to);
                    let expected = match step {
                        None => Some("invalid_transition"),
                        Some((_, _, roles)) if roles.is_empty() || roles.contains(&role) => None,
                        Some(_) => Some("transition_not_allowed"),
                    };
                    refused += usize::from(expected.is_some());
                    assert_eq!(
                        code(Start::Existing(Some(from)), to, role),
                        expected,
                        "{}.{}: {from} → {to} by {role:?}",
                        m.collection.as_str(),
                        m.field
                    );
                }
            }
            // A field never set is in the implicit state: writing that state is no move.
            assert_eq!(
                code(Start::Existing(None), to, CommitteeAdmin),
                code(Start::Existing(Some(m.implicit)), to, CommitteeAdmin),
                "{to}"
            );
        }
        // Clearing a status is never a move.
        assert_eq!(
            check_transition(
                m.collection,
                m.field,
                Start::Existing(Some(m.implicit)),
                None,
                CommitteeAdmin
            )
            .err()
            .map(|e| e.code),
            Some("invalid_transition")
        );
    }
    assert!(refused > 1000, "{refused}");
}

#[test]
fn a_step_must_record_what_it_needs() {
    let all = |_: &str| true;
    for (collection, field, value, needed) in REQUIRED_AT {
        // The step is a state of the machine (or a yes/no field's "true"), and every
        // needed field is declared.
        let is_bool = matches!(
            collection.schema().field(field).map(|f| f.ty),
            Some(crate::collection::FieldType::Bool)
        );
        let stored = if is_bool {
            assert_eq!(*value, "true", "{field}");
            serde_json::json!(true)
        } else if let Some(m) = machine(*collection, field) {
            assert!(
                m.steps.iter().any(|(_, t, _)| t == value),
                "{}.{field} {value}",
                collection.as_str()
            );
            serde_json::json!(value)
        } else {
            // A choice without a state machine (the branch's exemption ground): one of its words.
            let ty = collection.schema().field(field).map(|f| f.ty);
            let Some(crate::collection::FieldType::Enum(words)) = ty else {
                panic!("{field}")
            };
            assert!(words.contains(value), "{field} {value}");
            serde_json::json!(value)
        };
        let mut full = serde_json::Map::new();
        full.insert((*field).to_owned(), stored);
        for name in *needed {
            assert!(collection.schema().field(name).is_some(), "{name}");
            full.insert((*name).to_owned(), serde_json::json!("x"));
        }
        assert!(check_required_for_steps(*collection, &full, &all).is_ok());
        for missing in *needed {
            let mut partial = full.clone();
            partial.remove(*missing);
            // Moving into the step without it, or clearing it later, is refused …
            for touched in [*field, *missing] {
                let err = check_required_for_steps(*collection, &partial, &|f: &str| f == touched);
                assert_eq!(
                    err.map_err(|e| (e.code, e.field)),
                    Err(("required_for_step", (*missing).to_owned())),
                    "{field}={value}, touching {touched}"
                );
            }
            // … an unrelated edit of a record already there is not.
            assert!(
                check_required_for_steps(*collection, &partial, &|f: &str| f == "remarks").is_ok()
            );
        }
    }
    // Other states need nothing.
    let submitted = serde_json::json!({"status": "submitted"});
    assert!(
        check_required_for_steps(
            Collection::Dispositions,
            submitted.as_object().unwrap_or(&serde_json::Map::new()),
            &all
        )
        .is_ok()
    );
}

#[test]
fn only_the_committee_records_a_department_search() {
    let attempt = |method: &str| {
        serde_json::json!({"method": method, "channel": "phone"})
            .as_object()
            .cloned()
            .unwrap_or_default()
    };
    for role in Role::ALL {
        let result = check_role_rules(Collection::ContactAttempts, &attempt("department"), role);
        assert_eq!(
            result.err().map(|e| e.code),
            (role != CommitteeAdmin).then_some("department_search_by_committee"),
            "{role:?}"
        );
        assert!(check_role_rules(Collection::ContactAttempts, &attempt("direct"), role).is_ok());
    }
}

#[test]
fn stamped_fields_are_declared_and_written_by_no_role() {
    for (collection, field, value, stamp) in STAMPS {
        assert!(machine(*collection, field).is_some());
        let spec = collection.schema().field(stamp);
        assert!(
            spec.is_some_and(|s| s.writers.is_empty() && matches!(s.ty, FieldType::Date)),
            "{stamp}"
        );
        assert_eq!(stamps(*collection, field, Some(value)), vec![*stamp]);
    }
    assert!(stamps(Collection::LedgerSubmissions, "status", Some("draft")).is_empty());
}

#[test]
fn disposition_steps() {
    use Collection::Dispositions as D;
    let table: &[(Option<&str>, Option<&str>, Role, Result<(), &str>)] = &[
        (
            Some("proposed"),
            Some("branch_meeting_decided"),
            BranchSecretary,
            Ok(()),
        ),
        (
            Some("proposed"),
            Some("submitted"),
            BranchSecretary,
            Err("invalid_transition"),
        ),
        (
            Some("proposed"),
            Some("approved"),
            CommitteeAdmin,
            Err("invalid_transition"),
        ),
        (
            Some("branch_meeting_decided"),
            Some("submitted"),
            GroupMember,
            Ok(()),
        ),
        (
            Some("submitted"),
            Some("approved"),
            BranchSecretary,
            Err("transition_not_allowed"),
        ),
        (Some("submitted"), Some("approved"), CommitteeAdmin, Ok(())),
        (Some("submitted"), Some("returned"), CommitteeAdmin, Ok(())),
        (Some("returned"), Some("submitted"), BranchSecretary, Ok(())),
        (Some("approved"), Some("filed"), CommitteeAdmin, Ok(())),
        (Some("filed"), Some("effective"), CommitteeAdmin, Ok(())),
        (
            Some("effective"),
            Some("proposed"),
            BranchSecretary,
            Err("invalid_transition"),
        ),
        (
            Some("approved"),
            None,
            CommitteeAdmin,
            Err("invalid_transition"),
        ),
    ];
    for (from, to, role, expected) in table {
        let got =
            check_transition(D, "status", Start::Existing(*from), *to, *role).map_err(|e| e.code);
        assert_eq!(got, *expected, "{from:?} → {to:?} by {role:?}");
    }
    let new = |to| {
        check_transition(D, "status", Start::New, Some(to), BranchSecretary).map_err(|e| e.code)
    };
    assert_eq!(new("proposed"), Ok(()));
    assert_eq!(new("approved"), Err("invalid_transition"));
    // Never set: the implicit first state, proposed.
    let unset = check_transition(
        D,
        "status",
        Start::Existing(None),
        Some("branch_meeting_decided"),
        BranchSecretary,
    );
    assert!(unset.is_ok());
}

#[test]
fn ledger_roster_and_receipts() {
    use Collection::*;
    let table: &[(Collection, &str, Option<&str>, &str, Role, Result<(), &str>)] = &[
        (
            LedgerSubmissions,
            "status",
            None,
            "submitted",
            WorkAreaStaff,
            Ok(()),
        ),
        (
            LedgerSubmissions,
            "status",
            Some("draft"),
            "submitted",
            WorkAreaStaff,
            Ok(()),
        ),
        (
            LedgerSubmissions,
            "status",
            Some("submitted"),
            "approved",
            WorkAreaStaff,
            Err("transition_not_allowed"),
        ),
        (
            LedgerSubmissions,
            "status",
            Some("submitted"),
            "approved",
            OrgOffice,
            Ok(()),
        ),
        (
            LedgerSubmissions,
            "status",
            Some("approved"),
            "draft",
            WorkAreaStaff,
            Err("invalid_transition"),
        ),
        // §8.16: the 组织办 reopens an approved ledger; the work area submits it again.
        (
            LedgerSubmissions,
            "status",
            Some("approved"),
            "reopened",
            OrgOffice,
            Ok(()),
        ),
        (
            LedgerSubmissions,
            "status",
            Some("approved"),
            "reopened",
            WorkAreaStaff,
            Err("transition_not_allowed"),
        ),
        (
            LedgerSubmissions,
            "status",
            Some("reopened"),
            "submitted",
            WorkAreaStaff,
            Ok(()),
        ),
        (
            LedgerSubmissions,
            "status",
            Some("reopened"),
            "approved",
            OrgOffice,
            Err("invalid_transition"),
        ),
        (
            LedgerSubmissions,
            "status",
            Some("submitted"),
            "reopened",
            OrgOffice,
            Err("invalid_transition"),
        ),
        (
            Members,
            "roster_status",
            Some("flagged_surplus"),
            "removed_from_roster",
            BranchSecretary,
            Err("transition_not_allowed"),
        ),
        (
            Members,
            "roster_status",
            Some("flagged_surplus"),
            "removed_from_roster",
            OrgOffice,
            Ok(()),
        ),
        (
            Members,
            "roster_status",
            None,
            "removed_from_roster",
            BranchSecretary,
            Err("invalid_transition"),
        ),
        (
            Members,
            "roster_status",
            Some("confirmed_on_site"),
            "unverified",
            BranchSecretary,
            Err("invalid_transition"),
        ),
        (
            Transfers,
            "receipt_status",
            Some("receipt_pending"),
            "receiver_contacted",
            BranchSecretary,
            Ok(()),
        ),
        (
            Transfers,
            "receipt_status",
            Some("receiver_contacted"),
            "receipt_reissued",
            BranchSecretary,
            Ok(()),
        ),
        (
            Transfers,
            "receipt_status",
            Some("receipt_received"),
            "receiver_unreachable",
            BranchSecretary,
            Err("invalid_transition"),
        ),
        (
            ContactCases,
            "result",
            Some("still_lost"),
            "found",
            BranchSecretary,
            Ok(()),
        ),
        (
            ContactCases,
            "result",
            Some("found"),
            "searching",
            BranchSecretary,
            Err("invalid_transition"),
        ),
        (Members, "name", Some("a"), "b", BranchSecretary, Ok(())),
    ];
    for (c, field, from, to, role, expected) in table {
        let got = check_transition(*c, field, Start::Existing(*from), Some(to), *role)
            .map_err(|e| e.code);
        assert_eq!(got, *expected, "{c:?}.{field}: {from:?} → {to} by {role:?}");
    }
}

/// §6.1 and §8.16: restoring a removed person and reopening an approved ledger each carry their
/// reason in the same write; a reason kept from earlier, or a blank one, does not serve.
#[test]
#[allow(clippy::unwrap_used)]
fn a_reopening_and_a_restoration_say_why_in_the_same_write() {
    let map = |v: serde_json::Value| v.as_object().unwrap().clone();
    let approved = map(serde_json::json!({"status": "approved", "reopen_reason": "旧的原因"}));
    let reopen = |extra: serde_json::Value| {
        let mut changed = map(serde_json::json!({"status": "reopened"}));
        changed.extend(map(extra));
        check_reason_with_step(Collection::LedgerSubmissions, &approved, &changed)
    };
    let refused = reopen(serde_json::json!({})).unwrap_err();
    assert_eq!(
        (refused.code, refused.field.as_str()),
        ("required_for_step", "reopen_reason")
    );
    assert!(refused.message.contains("重新打开原因"));
    assert!(reopen(serde_json::json!({"reopen_reason": "  "})).is_err());
    assert!(reopen(serde_json::json!({"reopen_reason": "条目有误，需更正"})).is_ok());
    // Other writes of an approved submission need no reason.
    let opinion = map(serde_json::json!({"audit_opinion": "补充意见"}));
    assert!(check_reason_with_step(Collection::LedgerSubmissions, &approved, &opinion).is_ok());
    // The restoration, as before.
    let removed = map(serde_json::json!({"roster_status": "removed_from_roster"}));
    let back = map(serde_json::json!({"roster_status": "unverified"}));
    let err = check_reason_with_step(Collection::Members, &removed, &back).unwrap_err();
    assert_eq!(err.field, "restore_reason");
    let mut with = back.clone();
    with.insert("restore_reason".into(), "误移出".into());
    assert!(check_reason_with_step(Collection::Members, &removed, &with).is_ok());
}

/// A reopened submission was approved: it cannot be deleted either (§8.12).
#[test]
#[allow(clippy::unwrap_used)]
fn a_reopened_submission_is_not_deleted() {
    for (status, refused) in [("approved", true), ("reopened", true), ("returned", false)] {
        let fields = serde_json::json!({"ledger": "ledger_a", "status": status});
        let result = check_delete(Collection::LedgerSubmissions, fields.as_object().unwrap());
        assert_eq!(result.is_err(), refused, "{status}");
    }
}
