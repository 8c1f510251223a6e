//! Personal data by role: who reads 公民身份号码 whole, and the one projection every read path
//! applies to what it answers (docs/protocol.md §3.7, "Personal data by role").
//!
//! The rule is defined here once. Those who verify members (the branch and its working group),
//! compile and audit the registers (work areas, the 组织办) and the committee read ID numbers
//! whole; streets and viewers (and the platform administrator, who reads no member data at all)
//! read them masked: the first 4 and the last 2 characters, the rest `*` (`1101************2X`).
//! The server applies [`project_fields`] (or [`project_value`], [`project_changes`]) on every
//! path that answers record fields: pull, the member list, every register in every format, the
//! audit trail, the conflict log and a push's own conflicts. So a masked role's devices never
//! hold a full number.
//!
//! Phones, addresses, photos and signatures are not projected (yet): the roles that read member
//! data all read them as stored.
//!
//! No one writes a masked number back: [`is_masked`] values are refused for ID-number fields by
//! the validation of every write (`id_number_masked`), so a device that resends a record it
//! received masked cannot overwrite the stored number.

use serde_json::{Map, Value};

use crate::collection::{Collection, FieldType};
use crate::id_number::{IdNumber, LEGACY_ID_NUMBER_LENGTH};
use crate::role::Role;

/// How a role reads personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    /// As stored.
    Full,
    /// ID numbers masked.
    Masked,
}

impl View {
    /// The view of `role`: [`View::Full`] when it [`sees_full_id_numbers`].
    pub fn of(role: Role) -> Self {
        if sees_full_id_numbers(role) {
            Self::Full
        } else {
            Self::Masked
        }
    }

    pub fn is_masked(self) -> bool {
        self == Self::Masked
    }
}

/// Whether `role` reads 公民身份号码 whole. Those who verify members (the branch and its
/// working group), compile and audit the registers (work areas, the 组织办) and the committee
/// do; streets, viewers and the platform administrator read them masked.
pub fn sees_full_id_numbers(role: Role) -> bool {
    match role {
        Role::CommitteeAdmin
        | Role::OrgOffice
        | Role::WorkAreaStaff
        | Role::BranchSecretary
        | Role::GroupMember => true,
        Role::StreetStaff | Role::Viewer | Role::SystemAdmin => false,
    }
}

/// The field where a member keeps a 15-digit first-generation number as it was entered.
const LEGACY_ENTERED: &str = crate::collection::LEGACY_ENTERED;

/// Whether `field` of `collection` holds an ID number: a field declared
/// [`FieldType::IdNumber`], or the 15-digit number as entered (`id_number_entered`).
pub fn is_id_number_field(collection: Collection, field: &str) -> bool {
    let schema = collection.schema();
    match schema.field(field) {
        Some(spec) => matches!(spec.ty, FieldType::IdNumber) || spec.name == LEGACY_ENTERED,
        None => false,
    }
}

/// [`is_id_number_field`] for a collection named on the wire. A name no collection has (a
/// record of a collection since removed) is judged by the field's name alone.
pub fn is_id_number_field_named(collection: &str, field: &str) -> bool {
    match Collection::parse(collection) {
        Some(c) => is_id_number_field(c, field),
        None => field == "id_number" || field == LEGACY_ENTERED,
    }
}

/// Whether any field of `collection` holds an ID number (pull skips the others untouched).
pub fn has_id_number_fields(collection: Collection) -> bool {
    collection
        .schema()
        .fields
        .iter()
        .any(|f| is_id_number_field(collection, f.name))
}

/// The masked form of a stored ID number: a valid 18-character number as
/// [`IdNumber::masked`] (`1101************2X`), a 15-digit first-generation number likewise
/// (`1101*********12`); anything else wholly `*`, so no run of its digits survives.
pub fn mask_id_number(text: &str) -> String {
    if let Ok(id) = IdNumber::parse(text) {
        return id.masked();
    }
    let trimmed = text.trim();
    if trimmed.len() == LEGACY_ID_NUMBER_LENGTH && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        let head = trimmed.get(..4).unwrap_or_default();
        let tail = trimmed
            .get(LEGACY_ID_NUMBER_LENGTH - 2..)
            .unwrap_or_default();
        return format!("{head}{}{tail}", "*".repeat(LEGACY_ID_NUMBER_LENGTH - 6));
    }
    "*".repeat(text.chars().count())
}

/// Whether `text` is a masked ID number (it holds a `*`, which no ID number has): what a
/// masked role received, never a value to write.
pub fn is_masked(text: &str) -> bool {
    text.contains('*')
}

/// One field's value as `view` reads it: an ID-number field's text masked for
/// [`View::Masked`]; anything else as it is.
pub fn project_value(view: View, is_id_field: bool, value: &mut Value) {
    if view.is_masked()
        && is_id_field
        && let Value::String(text) = value
    {
        *text = mask_id_number(text);
    }
}

/// A record's fields as `view` reads them: every ID-number field of `collection` masked for
/// [`View::Masked`]. Returns whether a field changed.
pub fn project_fields(collection: Collection, fields: &mut Map<String, Value>, view: View) -> bool {
    if !view.is_masked() {
        return false;
    }
    let mut changed = false;
    for (name, value) in fields.iter_mut() {
        if is_id_number_field(collection, name) && value.is_string() {
            project_value(view, true, value);
            changed = true;
        }
    }
    changed
}

/// An audit entry's changes (`{field: [old, new]}`, or a record's fields) as `view` reads
/// them: both values of every ID-number field masked for [`View::Masked`].
pub fn project_changes(collection: &str, changes: &mut Value, view: View) {
    if !view.is_masked() {
        return;
    }
    let Value::Object(map) = changes else {
        return;
    };
    for (field, value) in map.iter_mut() {
        if !is_id_number_field_named(collection, field) {
            continue;
        }
        match value {
            Value::Array(pair) => pair.iter_mut().for_each(|v| project_value(view, true, v)),
            other => project_value(view, true, other),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const FULL: &str = "11010519491231002X";

    #[test]
    fn streets_viewers_and_the_platform_read_numbers_masked() {
        let table = [
            (Role::SystemAdmin, false),
            (Role::CommitteeAdmin, true),
            (Role::OrgOffice, true),
            (Role::StreetStaff, false),
            (Role::WorkAreaStaff, true),
            (Role::BranchSecretary, true),
            (Role::GroupMember, true),
            (Role::Viewer, false),
        ];
        assert_eq!(table.len(), Role::ALL.len());
        for (role, full) in table {
            assert_eq!(sees_full_id_numbers(role), full, "{role:?}");
            assert_eq!(View::of(role) == View::Full, full, "{role:?}");
        }
    }

    #[test]
    fn masking_leaves_no_run_of_the_number() {
        let table = [
            (FULL, "1101************2X"),
            ("11010519491231002x", "1101************2X"),
            ("110105491231002", "1101*********02"),
            ("11010519491231002Y", "******************"),
            ("abc", "***"),
            ("", ""),
        ];
        for (raw, masked) in table {
            assert_eq!(mask_id_number(raw), masked, "{raw}");
            assert!(is_masked(masked) || masked.is_empty());
        }
        assert!(!is_masked(FULL));
    }

    #[test]
    fn every_id_number_field_is_known() {
        let fields: Vec<(Collection, &str)> = Collection::ALL
            .into_iter()
            .flat_map(|c| {
                c.schema()
                    .fields
                    .iter()
                    .filter(move |f| is_id_number_field(c, f.name))
                    .map(move |f| (c, f.name))
            })
            .collect();
        assert_eq!(
            fields,
            [
                (Collection::Members, "id_number"),
                (Collection::Members, "id_number_entered"),
                (Collection::RosterLedgerEntries, "id_number"),
                (Collection::Transfers, "id_number"),
            ]
        );
        assert!(has_id_number_fields(Collection::Transfers));
        assert!(!has_id_number_fields(Collection::Campaigns));
        // And every field named like one is one (a new field cannot slip past by its type).
        for c in Collection::ALL {
            for f in c.schema().fields {
                if f.name.starts_with("id_number") && f.name != "id_number_to_confirm" {
                    assert!(is_id_number_field(c, f.name), "{}.{}", c.as_str(), f.name);
                }
            }
        }
    }

    #[test]
    fn fields_are_masked_for_the_masked_view_only() {
        let stored = json!({"name": "张三", "id_number": FULL, "id_number_entered": "110105491231002", "phone": "13800000000"});
        let mut fields = stored.as_object().unwrap().clone();
        assert!(!project_fields(
            Collection::Members,
            &mut fields,
            View::Full
        ));
        assert_eq!(Value::Object(fields.clone()), stored);
        assert!(project_fields(
            Collection::Members,
            &mut fields,
            View::Masked
        ));
        assert_eq!(
            Value::Object(fields),
            json!({"name": "张三", "id_number": "1101************2X", "id_number_entered": "1101*********02", "phone": "13800000000"})
        );
        let mut changes = json!({"id_number": [null, FULL], "name": [null, "张三"]});
        project_changes("transfers", &mut changes, View::Masked);
        assert_eq!(
            changes,
            json!({"id_number": [null, "1101************2X"], "name": [null, "张三"]})
        );
        let mut changes = json!({"id_number": FULL});
        project_changes("gone_collection", &mut changes, View::Masked);
        assert_eq!(changes, json!({"id_number": "1101************2X"}));
    }
}
