//! Records that change their place (docs/domain.md §6.7): a transfer re-addressed to another
//! branch by a corrected list, a member moved to another branch of the tenant. The units that
//! saw a record where it was, and do not see it where it is, are told: their devices pull a
//! tombstone (protocol §2.4) and `GET /v1/departures` says where it went and why.

use serde_json::{Map, Value};

use crate::collection::{Collection, FieldError};

/// The reason a record left its addressee's unit when its addressee changed.
pub fn addressee_reason(collection: Collection) -> &'static str {
    match collection {
        Collection::Members => "move_not_taken",
        _ => "readdressed",
    }
}

/// What people read for a reason word.
pub fn reason_label(word: &str) -> Option<&'static str> {
    crate::words::DEPARTURE_REASONS
        .iter()
        .find(|(w, _)| *w == word)
        .map(|(_, l)| *l)
}

/// What the unit a record left knew it by: the person's name.
pub fn label_of(collection: Collection, fields: &Map<String, Value>) -> Option<&str> {
    let field = match collection {
        Collection::Members => "name",
        Collection::Transfers => "member_name",
        _ => return None,
    };
    fields.get(field).and_then(Value::as_str)
}

/// Whether a unit field may name any branch of the tenant, not only one below the writer: the
/// branch a member is proposed to move to, and those the server records of a move (the branch
/// he came from, his branch at the start), which the receiving branch's write carries.
pub fn names_any_branch(collection: Collection, field: &str) -> bool {
    collection == Collection::Members
        && matches!(
            field,
            "move_to_branch_id" | "moved_from_branch_id" | "start_branch_id"
        )
}

/// The states of a member's move (`members.move_status`): none until one is proposed.
pub const STATUS: &[&str] = &["proposed", "accepted", "declined", "cancelled"];

/// The member fields a move writes.
pub const MOVE_FIELDS: [&str; 4] = [
    "move_to_branch_id",
    "move_reason",
    "move_status",
    "move_note",
];

/// A step of a member's move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveStep {
    /// His branch (or the committee) proposes to move him to `move_to_branch_id`: that branch
    /// sees him from now on.
    Propose,
    /// The receiving branch takes him: he and his records move there.
    Accept,
    /// The receiving branch does not take him, with its note; he stays.
    Decline,
    /// The proposing side withdraws the proposal; he stays.
    Cancel,
}

/// Who writes a member's move: the proposing side (the unit holding him, or one above it) or
/// the receiving branch (the one the move is addressed to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoveWriter {
    pub holds_member: bool,
    pub is_receiver: bool,
}

fn text<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    fields
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

fn refuse(field: &str, code: &'static str, message: &str) -> FieldError {
    FieldError {
        field: field.to_owned(),
        code,
        message: message.to_owned(),
    }
}

/// Checks a write to a member against the rules of moves (docs/domain.md §6.7), given the
/// member as stored (`before`), the fields the write changes, the branch holding him now and
/// who writes; the step it takes, if any.
///
/// - A move is proposed with the branch and the reason, by the side holding him, to a branch
///   other than his own; while it waits, its branch and reason stand (cancel and propose again).
/// - Only the receiving branch accepts or declines it (declining needs its note), and may write
///   nothing else of the member; only the proposing side cancels it.
pub fn check_member_move(
    before: &Map<String, Value>,
    changed: &Map<String, Value>,
    holder: &str,
    writer: MoveWriter,
) -> Result<Option<MoveStep>, FieldError> {
    if writer.is_receiver
        && !writer.holds_member
        && let Some(other) = changed
            .keys()
            .find(|k| !["move_status", "move_note"].contains(&k.as_str()))
    {
        return Err(refuse(
            other,
            "outside_scope",
            "接收支部在确认接收前只能填写是否接收及意见",
        ));
    }
    if !MOVE_FIELDS.iter().any(|f| changed.contains_key(*f)) {
        return Ok(None);
    }
    let current = text(before, "move_status");
    let next = match changed.get("move_status") {
        Some(v) => v.as_str(),
        None => current,
    };
    let merged = |name: &str| match changed.get(name) {
        Some(v) => v.as_str().filter(|s| !s.trim().is_empty()),
        None => text(before, name),
    };
    let steps_from_proposed = current == Some("proposed");
    let step = match next {
        Some("proposed") if !steps_from_proposed => {
            if !writer.holds_member {
                return Err(refuse(
                    "move_status",
                    "outside_scope",
                    "只有党员所在党支部或党工委可以提出转接",
                ));
            }
            if merged("move_to_branch_id").is_none() {
                return Err(refuse(
                    "move_to_branch_id",
                    "required_for_step",
                    "提出支部间转接，须填写「拟转入党支部」",
                ));
            }
            if merged("move_reason").is_none() {
                return Err(refuse(
                    "move_reason",
                    "required_for_step",
                    "提出支部间转接，须填写「转接原因」",
                ));
            }
            if merged("move_to_branch_id") == Some(holder) {
                return Err(refuse(
                    "move_to_branch_id",
                    "invalid_field_value",
                    "拟转入党支部不能是其现在所在的党支部",
                ));
            }
            Some(MoveStep::Propose)
        }
        Some("accepted" | "declined") if steps_from_proposed && next != current => {
            if !writer.is_receiver {
                return Err(refuse(
                    "move_status",
                    "outside_scope",
                    "只有接收党支部可以确认接收或不予接收",
                ));
            }
            if next == Some("declined") && merged("move_note").is_none() {
                return Err(refuse(
                    "move_note",
                    "required_for_step",
                    "不予接收，须填写「接收支部意见」",
                ));
            }
            Some(if next == Some("accepted") {
                MoveStep::Accept
            } else {
                MoveStep::Decline
            })
        }
        Some("cancelled") if steps_from_proposed => {
            if !writer.holds_member {
                return Err(refuse(
                    "move_status",
                    "outside_scope",
                    "只有提出转接的一方可以撤销",
                ));
            }
            Some(MoveStep::Cancel)
        }
        _ if next == current => None,
        _ => {
            return Err(refuse(
                "move_status",
                "invalid_transition",
                "支部间转接只能先提出，再由接收党支部确认接收或不予接收，或由提出方撤销",
            ));
        }
    };
    // The branch and reason of a waiting move stand; outside a move there is no branch to go to.
    let retargeted =
        changed.contains_key("move_to_branch_id") || changed.contains_key("move_reason");
    if retargeted && step != Some(MoveStep::Propose) {
        return Err(refuse(
            if changed.contains_key("move_to_branch_id") {
                "move_to_branch_id"
            } else {
                "move_reason"
            },
            "invalid_transition",
            if steps_from_proposed {
                "转接申请已提出，如需改变请先撤销再重新提出"
            } else {
                "请通过提出支部间转接填写拟转入党支部和转接原因"
            },
        ));
    }
    Ok(step)
}

/// What the server writes on a member with a move's step: a new proposal clears the answer to an
/// earlier one; once answered or cancelled, the move names no branch (he is addressed to none);
/// accepted, he is recorded as moved from `holder` on `today`, and his branch at the start is
/// kept the first time he moves.
pub fn settle_move(
    step: MoveStep,
    before: &Map<String, Value>,
    holder: &str,
    today: chrono::NaiveDate,
) -> Map<String, Value> {
    let mut fields = Map::new();
    if step == MoveStep::Propose {
        if text(before, "move_note").is_some() {
            fields.insert("move_note".into(), Value::Null);
        }
        return fields;
    }
    fields.insert("move_to_branch_id".into(), Value::Null);
    if step == MoveStep::Accept {
        fields.insert("moved_from_branch_id".into(), Value::from(holder));
        fields.insert("moved_on".into(), Value::from(today.to_string()));
        if text(before, "start_branch_id").is_none() {
            fields.insert("start_branch_id".into(), Value::from(holder));
        }
    }
    fields
}

/// Every refusal of [`check_member_move`], for the vocabulary test.
#[cfg(test)]
pub(crate) fn every_refusal() -> Vec<FieldError> {
    let map = |v: Value| match v {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let none = Map::new();
    let waiting = map(
        serde_json::json!({"move_status": "proposed", "move_to_branch_id": "b2", "move_reason": "x"}),
    );
    let holder = MoveWriter {
        holds_member: true,
        is_receiver: false,
    };
    let receiver = MoveWriter {
        holds_member: false,
        is_receiver: true,
    };
    let cases = [
        (
            &none,
            serde_json::json!({"move_status": "proposed", "move_to_branch_id": "b2", "move_reason": "x"}),
            receiver,
        ),
        (
            &none,
            serde_json::json!({"move_status": "proposed", "move_reason": "x"}),
            holder,
        ),
        (
            &none,
            serde_json::json!({"move_status": "proposed", "move_to_branch_id": "b2"}),
            holder,
        ),
        (
            &none,
            serde_json::json!({"move_status": "proposed", "move_to_branch_id": "b1", "move_reason": "x"}),
            holder,
        ),
        (
            &none,
            serde_json::json!({"move_status": "accepted"}),
            receiver,
        ),
        (
            &none,
            serde_json::json!({"move_to_branch_id": "b2"}),
            holder,
        ),
        (
            &waiting,
            serde_json::json!({"move_status": "accepted"}),
            holder,
        ),
        (
            &waiting,
            serde_json::json!({"move_status": "declined"}),
            receiver,
        ),
        (
            &waiting,
            serde_json::json!({"move_status": "cancelled"}),
            receiver,
        ),
        (&waiting, serde_json::json!({"name": "乙"}), receiver),
        (&waiting, serde_json::json!({"move_reason": "y"}), holder),
    ];
    cases
        .into_iter()
        .filter_map(|(before, changed, writer)| {
            check_member_move(before, &map(changed), "b1", writer).err()
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    const HOLDER: MoveWriter = MoveWriter {
        holds_member: true,
        is_receiver: false,
    };
    const RECEIVER: MoveWriter = MoveWriter {
        holds_member: false,
        is_receiver: true,
    };

    #[test]
    fn a_move_is_proposed_answered_by_the_receiver_and_cancelled_by_the_proposer() {
        let none = map(json!({"name": "甲"}));
        let propose = map(
            json!({"move_status": "proposed", "move_to_branch_id": "b2", "move_reason": "居住地变更"}),
        );
        assert_eq!(
            check_member_move(&none, &propose, "b1", HOLDER),
            Ok(Some(MoveStep::Propose))
        );
        let code = |r: Result<Option<MoveStep>, FieldError>| r.unwrap_err().code;
        // Only the holder proposes, with branch and reason, elsewhere.
        assert_eq!(
            code(check_member_move(&none, &propose, "b1", RECEIVER)),
            "outside_scope"
        );
        let no_reason = map(json!({"move_status": "proposed", "move_to_branch_id": "b2"}));
        assert_eq!(
            code(check_member_move(&none, &no_reason, "b1", HOLDER)),
            "required_for_step"
        );
        assert_eq!(
            code(check_member_move(&none, &propose, "b2", HOLDER)),
            "invalid_field_value"
        );
        // Nothing but a proposal starts a move.
        let accept = map(json!({"move_status": "accepted"}));
        assert_eq!(
            code(check_member_move(&none, &accept, "b1", RECEIVER)),
            "invalid_transition"
        );
        let sneak = map(json!({"move_to_branch_id": "b2"}));
        assert_eq!(
            code(check_member_move(&none, &sneak, "b1", HOLDER)),
            "invalid_transition"
        );

        let waiting = map(
            json!({"name": "甲", "move_status": "proposed", "move_to_branch_id": "b2", "move_reason": "x"}),
        );
        assert_eq!(
            check_member_move(&waiting, &accept, "b1", RECEIVER),
            Ok(Some(MoveStep::Accept))
        );
        assert_eq!(
            code(check_member_move(&waiting, &accept, "b1", HOLDER)),
            "outside_scope"
        );
        let decline = map(json!({"move_status": "declined"}));
        assert_eq!(
            code(check_member_move(&waiting, &decline, "b1", RECEIVER)),
            "required_for_step"
        );
        let decline = map(json!({"move_status": "declined", "move_note": "不属本支部"}));
        assert_eq!(
            check_member_move(&waiting, &decline, "b1", RECEIVER),
            Ok(Some(MoveStep::Decline))
        );
        let cancel = map(json!({"move_status": "cancelled"}));
        assert_eq!(
            check_member_move(&waiting, &cancel, "b1", HOLDER),
            Ok(Some(MoveStep::Cancel))
        );
        assert_eq!(
            code(check_member_move(&waiting, &cancel, "b1", RECEIVER)),
            "outside_scope"
        );
        // The receiver writes nothing else of him; a waiting move's branch stands.
        let rename = map(json!({"name": "乙"}));
        assert_eq!(
            code(check_member_move(&waiting, &rename, "b1", RECEIVER)),
            "outside_scope"
        );
        let retarget = map(json!({"move_to_branch_id": "b3"}));
        assert_eq!(
            code(check_member_move(&waiting, &retarget, "b1", HOLDER)),
            "invalid_transition"
        );
        // The holder's ordinary edits are no move.
        assert_eq!(check_member_move(&waiting, &rename, "b1", HOLDER), Ok(None));
        // After a move, another may be proposed.
        let moved = map(json!({"move_status": "accepted", "start_branch_id": "b0"}));
        assert_eq!(
            check_member_move(&moved, &propose, "b1", HOLDER),
            Ok(Some(MoveStep::Propose))
        );
    }

    /// The vocabulary test reads every refusal: each case it walks is refused.
    #[test]
    fn every_refusal_case_is_refused() {
        assert_eq!(every_refusal().len(), 11);
    }

    #[test]
    fn an_accepted_move_records_where_he_came_from_and_keeps_his_branch_at_the_start() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 4, 1).unwrap();
        let first = settle_move(MoveStep::Accept, &Map::new(), "b1", today);
        assert_eq!(
            Value::Object(first),
            json!({"move_to_branch_id": null, "moved_from_branch_id": "b1", "moved_on": "2026-04-01", "start_branch_id": "b1"})
        );
        let again = settle_move(
            MoveStep::Accept,
            &map(json!({"start_branch_id": "b1"})),
            "b2",
            today,
        );
        assert!(!again.contains_key("start_branch_id"));
        let declined = settle_move(MoveStep::Decline, &Map::new(), "b1", today);
        assert_eq!(Value::Object(declined), json!({"move_to_branch_id": null}));
        assert!(settle_move(MoveStep::Propose, &Map::new(), "b1", today).is_empty());
        // The receiving branch's note on an earlier proposal is not the new one's.
        let again = settle_move(
            MoveStep::Propose,
            &map(json!({"move_note": "查无此人"})),
            "b1",
            today,
        );
        assert_eq!(Value::Object(again), json!({"move_note": null}));
    }
}
