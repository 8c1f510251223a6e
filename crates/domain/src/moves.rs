//! Records that change their place (docs/domain.md §6.7): a transfer re-addressed to another
//! branch by a corrected list, a member moved to another branch of the tenant. The units that
//! saw a record where it was, and do not see it where it is, are told: their devices pull a
//! tombstone (protocol §2.4) and `GET /v1/departures` says where it went and why.

use serde_json::{Map, Value};

use crate::collection::Collection;

/// Why a record left a unit: the word kept with the departure, and what people read.
pub const REASONS: &[(&str, &str)] = &[
    ("readdressed", "转出明细更正，改由其他党支部跟进"),
    ("member_moved", "党员组织关系转至其他党支部"),
    ("move_not_taken", "支部间转接未完成（已撤销或不予接收）"),
];

/// The reason a record left its addressee's unit when its addressee changed.
pub fn addressee_reason(collection: Collection) -> &'static str {
    match collection {
        Collection::Members => "move_not_taken",
        _ => "readdressed",
    }
}

/// What people read for a reason word.
pub fn reason_label(word: &str) -> Option<&'static str> {
    REASONS.iter().find(|(w, _)| *w == word).map(|(_, l)| *l)
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
