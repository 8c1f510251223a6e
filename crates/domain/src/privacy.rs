//! Personal data by role: who reads 公民身份号码, phones, addresses and images whole, and the one
//! projection every read path applies to what it answers (docs/protocol.md §3.7, "Personal data
//! by role").
//!
//! The rule is defined here once, as two views. Those who verify members (the branch and its
//! working group), compile and audit the registers (work areas, the 组织办) and the committee
//! read personal data as stored ([`View::Full`]). Streets, which only hand down the lists of
//! transfers out, and viewers, who watch the campaign's progress, read it the least a view of
//! the work needs ([`View::Masked`], the principle of 最小必要):
//!
//! - ID numbers: the first 4 and the last 2 characters, the rest `*` (`1101************2X`);
//! - phones and other contact details: a phone number keeps its first 3 and last 4 digits
//!   (`139****5678`), any other text is `****`;
//! - addresses: `****`;
//! - photos, signatures, fingerprints and scanned documents (every blob field): `null`, and the
//!   blobs themselves are refused.
//!
//! The platform administrator reads no member data at all. The server applies
//! [`project_fields`] (or [`project_value`], [`project_changes`]) on every path that answers
//! record fields: pull, the member list, every register in every format, the audit trail, the
//! conflict log and a push's own conflicts. So a masked role's devices never hold the data.
//!
//! No one writes a masked value back: a masked ID number ([`is_masked`]) is refused by the
//! validation of every write (`id_number_masked`), as a street writes the ID numbers of its
//! transfers; no masked role may write any other personal field at all (a test of this module
//! checks it against the schemas' writers).

use serde_json::{Map, Value};

use crate::collection::{Collection, FieldType};
use crate::id_number::{IdNumber, LEGACY_ID_NUMBER_LENGTH};
use crate::role::Role;

/// How a role reads personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    /// As stored.
    Full,
    /// ID numbers, contact details and addresses masked, images withheld.
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

/// Whether `role` reads personal data (公民身份号码 first of all) as stored. Those who verify
/// members (the branch and its working group), compile and audit the registers (work areas,
/// the 组织办) and the committee do; streets, viewers and the platform administrator read it
/// masked.
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

/// Whether `role` may download blobs (photos, signatures, fingerprints, scanned documents):
/// only those who read personal data as stored.
pub fn sees_images(role: Role) -> bool {
    !View::of(role).is_masked()
}

/// The kinds of personal data a field can hold, each masked its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Personal {
    /// A 公民身份号码: `1101************2X`.
    IdNumber,
    /// A phone number or other contact details: `139****5678`, or `****`.
    Contact,
    /// An address: `****`.
    Address,
    /// A blob or a list of blobs (photos, signature, fingerprint, scans): `null`.
    Image,
    /// Free text no masked role writes (remarks, notes, findings), where a number may have
    /// been typed: every run of 7 or more digits masked as an ID number or a phone.
    FreeText,
}

/// The fields of contact details, by collection.
const CONTACT_FIELDS: &[(Collection, &str)] = &[
    (Collection::Members, "phone"),
    (Collection::Members, "contact_while_away"),
    (Collection::RosterLedgerEntries, "phone"),
    (Collection::ContactCases, "relatives"),
    (Collection::ContactCases, "current_phone"),
    (Collection::ContactAttempts, "contact_obtained"),
    (Collection::DepartmentSearchRequests, "contact_obtained"),
];

/// The fields of addresses, by collection.
const ADDRESS_FIELDS: &[(Collection, &str)] = &[
    (Collection::Members, "residence"),
    (Collection::Members, "household_registration"),
    (Collection::RosterLedgerEntries, "residence"),
    (Collection::ContactCases, "former_addresses"),
    (Collection::ContactCases, "current_residence"),
];

/// What personal data `field` of `collection` holds, if any.
pub fn personal(collection: Collection, field: &str) -> Option<Personal> {
    let spec = collection.schema().field(field)?;
    if matches!(spec.ty, FieldType::IdNumber) || spec.name == LEGACY_ENTERED {
        return Some(Personal::IdNumber);
    }
    if matches!(spec.ty, FieldType::Blob | FieldType::BlobList) {
        return Some(Personal::Image);
    }
    let listed = |list: &[(Collection, &str)]| list.contains(&(collection, spec.name));
    if listed(CONTACT_FIELDS) {
        Some(Personal::Contact)
    } else if listed(ADDRESS_FIELDS) {
        Some(Personal::Address)
    } else if matches!(spec.ty, FieldType::Text(_))
        // A masked role's own text (a transfer's batch name, its letter number) stays as
        // written: it would otherwise write back what it read masked.
        && !spec.writers.iter().any(|r| View::of(*r).is_masked())
    {
        Some(Personal::FreeText)
    } else {
        None
    }
}

/// [`personal`] for a collection named on the wire. A name no collection has (a record of a
/// collection since removed) is judged by the field's name alone: any field listed above.
pub fn personal_named(collection: &str, field: &str) -> Option<Personal> {
    if let Some(c) = Collection::parse(collection) {
        return personal(c, field);
    }
    if field == "id_number" || field == LEGACY_ENTERED {
        Some(Personal::IdNumber)
    } else if CONTACT_FIELDS.iter().any(|(_, f)| *f == field) {
        Some(Personal::Contact)
    } else if ADDRESS_FIELDS.iter().any(|(_, f)| *f == field) {
        Some(Personal::Address)
    } else {
        None
    }
}

/// The field where a member keeps a 15-digit first-generation number as it was entered.
const LEGACY_ENTERED: &str = crate::collection::LEGACY_ENTERED;

/// Whether `field` of `collection` holds an ID number: a field declared
/// [`FieldType::IdNumber`], or the 15-digit number as entered (`id_number_entered`).
pub fn is_id_number_field(collection: Collection, field: &str) -> bool {
    personal(collection, field) == Some(Personal::IdNumber)
}

/// Whether any field of `collection` holds personal data (pull skips the others untouched).
pub fn has_personal_fields(collection: Collection) -> bool {
    collection
        .schema()
        .fields
        .iter()
        .any(|f| personal(collection, f.name).is_some())
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

/// What stands for a masked text that is not a phone number (its length not shown).
const HIDDEN: &str = "****";

/// The masked form of contact details: a phone number (7 to 15 digits, with at most spaces,
/// `-`, `+` and brackets between them) keeps its last 4 digits, and a mobile-length one (11 or
/// more) its first 3 too; any other text is [`HIDDEN`], so no run of a number written inside it
/// survives.
pub fn mask_contact(text: &str) -> String {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let phone_like = text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '+' | '(' | ')'));
    if phone_like && (7..=15).contains(&digits.len()) {
        let keep_head = if digits.len() >= 11 { 3 } else { 0 };
        let (head, tail) = (&digits[..keep_head], &digits[digits.len() - 4..]);
        return format!("{head}{}{tail}", "*".repeat(digits.len() - 4 - keep_head));
    }
    if text.is_empty() {
        String::new()
    } else {
        HIDDEN.to_owned()
    }
}

/// `text` with every run of 7 or more ASCII digits (an ID number's final `X` with it) masked:
/// 15 or 18 characters as an ID number, others as a phone ([`mask_contact`]); `None` when it
/// holds no such run.
pub fn mask_digit_runs(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut i, mut changed) = (0, 0, false);
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i - start == 17 && matches!(bytes.get(i), Some(b'X' | b'x')) {
            i += 1;
        }
        if i - start < 7 {
            continue;
        }
        // Digits and X are ASCII: the run's ends are character boundaries.
        let run = &text[start..i];
        out.push_str(&text[copied..start]);
        out.push_str(&match run.len() {
            15 | 18 => mask_id_number(run),
            _ => mask_contact(run),
        });
        copied = i;
        changed = true;
    }
    changed.then(|| {
        out.push_str(&text[copied..]);
        out
    })
}

/// Whether `text` is a masked ID number (it holds a `*`, which no ID number has): what a
/// masked role received, never a value to write.
pub fn is_masked(text: &str) -> bool {
    text.contains('*')
}

/// One field's value as `view` reads it, `kind` being what [`personal`] says of its field:
/// for [`View::Masked`], ID numbers, contact details and addresses masked and images
/// withheld (`null`); anything else as it is.
pub fn project_value(view: View, kind: Option<Personal>, value: &mut Value) {
    let Some(kind) = kind.filter(|_| view.is_masked()) else {
        return;
    };
    match (kind, &mut *value) {
        (Personal::Image, Value::Null) => {}
        (Personal::Image, _) => *value = Value::Null,
        (Personal::IdNumber, Value::String(text)) => *text = mask_id_number(text),
        (Personal::Contact, Value::String(text)) => *text = mask_contact(text),
        (Personal::Address, Value::String(text)) if !text.is_empty() => *text = HIDDEN.to_owned(),
        (Personal::FreeText, Value::String(text)) => {
            if let Some(masked) = mask_digit_runs(text) {
                *text = masked;
            }
        }
        _ => {}
    }
}

/// A record's fields as `view` reads them: every personal field of `collection` projected by
/// [`project_value`] for [`View::Masked`]. Returns whether a field changed.
pub fn project_fields(collection: Collection, fields: &mut Map<String, Value>, view: View) -> bool {
    if !view.is_masked() {
        return false;
    }
    let mut changed = false;
    for (name, value) in fields.iter_mut() {
        let kind = personal(collection, name);
        match (kind, &mut *value) {
            (None, _) | (_, Value::Null) => {}
            (Some(Personal::FreeText), Value::String(text)) => {
                if let Some(masked) = mask_digit_runs(text) {
                    *text = masked;
                    changed = true;
                }
            }
            (kind, value) => {
                project_value(view, kind, value);
                changed = true;
            }
        }
    }
    changed
}

/// An audit entry's changes (`{field: [old, new]}`, or a record's fields) as `view` reads
/// them: both values of every personal field projected for [`View::Masked`].
pub fn project_changes(collection: &str, changes: &mut Value, view: View) {
    if !view.is_masked() {
        return;
    }
    let Value::Object(map) = changes else {
        return;
    };
    for (field, value) in map.iter_mut() {
        let Some(kind) = personal_named(collection, field) else {
            continue;
        };
        match value {
            // A pair [old, new] (or a record's list of blobs: each withheld alike).
            Value::Array(pair) => pair
                .iter_mut()
                .for_each(|v| project_value(view, Some(kind), v)),
            other => project_value(view, Some(kind), other),
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
    fn contact_details_keep_only_the_ends_of_a_phone_number() {
        let table = [
            ("13912345678", "139****5678"),
            ("139 1234 5678", "139****5678"),
            ("010-62345678", "010****5678"),
            ("+86 13912345678", "861******5678"),
            ("62345678", "****5678"),
            ("6234567", "***4567"),
            ("微信 zhang_3，电话13912345678", "****"),
            ("123456", "****"),
            ("", ""),
        ];
        for (raw, masked) in table {
            assert_eq!(mask_contact(raw), masked, "{raw}");
        }
    }

    #[test]
    fn numbers_typed_into_free_text_are_masked() {
        let table = [
            (
                "电话13912345678，身份证11010519491231002X。",
                Some("电话139****5678，身份证1101************2X。"),
            ),
            (
                "110105491231002 and 62345678",
                Some("1101*********02 and ****5678"),
            ),
            ("11010519491231002x", Some("1101************2X")),
            ("2015-05-01 第123456号", None),
            ("", None),
            ("12345678901234567890", Some("****")),
        ];
        for (raw, masked) in table {
            assert_eq!(mask_digit_runs(raw).as_deref(), masked, "{raw}");
        }
    }

    #[test]
    fn every_personal_field_is_known() {
        let fields: Vec<(Collection, &str, Personal)> = Collection::ALL
            .into_iter()
            .flat_map(|c| {
                c.schema()
                    .fields
                    .iter()
                    .filter_map(move |f| personal(c, f.name).map(|k| (c, f.name, k)))
            })
            .collect();
        let of = |kind: Personal| -> Vec<(Collection, &str)> {
            fields
                .iter()
                .filter(|(_, _, k)| *k == kind)
                .map(|(c, f, _)| (*c, *f))
                .collect()
        };
        assert_eq!(
            of(Personal::IdNumber),
            [
                (Collection::Members, "id_number"),
                (Collection::Members, "id_number_entered"),
                (Collection::RosterLedgerEntries, "id_number"),
                (Collection::Transfers, "id_number"),
            ]
        );
        let mut contact = of(Personal::Contact);
        contact.sort();
        let mut listed = CONTACT_FIELDS.to_vec();
        listed.sort();
        assert_eq!(contact, listed, "every listed contact field exists");
        let mut address = of(Personal::Address);
        address.sort();
        let mut listed = ADDRESS_FIELDS.to_vec();
        listed.sort();
        assert_eq!(address, listed, "every listed address field exists");
        assert_eq!(
            of(Personal::Image),
            [
                (Collection::InfoForms, "photos"),
                (Collection::InfoForms, "signature"),
                (Collection::InfoForms, "fingerprint"),
                (Collection::InfoForms, "flag_photo"),
                (Collection::RosterLedgerEntries, "evidence"),
                (Collection::ArchiveReviews, "proof"),
            ]
        );
        assert!(has_personal_fields(Collection::Transfers));
        // Free text: what no masked role writes.
        assert_eq!(
            personal(Collection::Members, "remarks"),
            Some(Personal::FreeText)
        );
        assert_eq!(
            personal(Collection::Transfers, "follow_up_note"),
            Some(Personal::FreeText)
        );
        assert_eq!(personal(Collection::Transfers, "letter_no"), None);
        assert_eq!(personal(Collection::Members, "birth_date"), None);
        // A new field cannot slip past by its name: whatever is named or labelled like an ID
        // number, a phone or an address is classified.
        for c in Collection::ALL {
            for f in c.schema().fields {
                let text = matches!(f.ty, FieldType::Text(_));
                let looks_personal = (f.name.starts_with("id_number")
                    && f.name != "id_number_to_confirm")
                    || f.name.contains("phone")
                    || f.name.contains("residence")
                    || f.name.contains("address")
                    || f.name.contains("household")
                    || (text
                        && ["联系方式", "电话", "住址", "居住地"]
                            .iter()
                            .any(|w| f.label_zh.contains(w)));
                if looks_personal {
                    assert!(personal(c, f.name).is_some(), "{}.{}", c.as_str(), f.name);
                }
            }
        }
    }

    #[test]
    fn no_masked_role_writes_a_field_it_reads_masked_but_an_id_number() {
        // A masked role resending what it read could overwrite the stored value: ID numbers
        // are guarded by `id_number_masked`; every other personal field by no masked role
        // being among its writers.
        for c in Collection::ALL {
            for f in c.schema().fields {
                let Some(kind) = personal(c, f.name) else {
                    continue;
                };
                if kind == Personal::IdNumber {
                    continue;
                }
                for role in f.writers {
                    assert!(
                        !View::of(*role).is_masked(),
                        "{role:?} writes {}.{} but reads it masked",
                        c.as_str(),
                        f.name
                    );
                }
            }
        }
    }

    #[test]
    fn fields_are_masked_for_the_masked_view_only() {
        let hash = "ab".repeat(32);
        let stored = json!({
            "name": "张三", "id_number": FULL, "id_number_entered": "110105491231002",
            "phone": "13800000000", "residence": "北京市朝阳区幸福里3号", "contact_while_away": null,
            "flow_destination": "广东省深圳市",
        });
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
            json!({
                "name": "张三", "id_number": "1101************2X", "id_number_entered": "1101*********02",
                "phone": "138****0000", "residence": "****", "contact_while_away": null,
                "flow_destination": "广东省深圳市",
            })
        );
        let mut form =
            json!({"photos": [hash, hash], "signature": hash, "fingerprint": null, "remarks": "x"});
        let form = form.as_object_mut().unwrap();
        assert!(project_fields(Collection::InfoForms, form, View::Masked));
        assert_eq!(
            Value::Object(form.clone()),
            json!({"photos": null, "signature": null, "fingerprint": null, "remarks": "x"})
        );
        let mut changes = json!({"id_number": [null, FULL], "name": [null, "张三"]});
        project_changes("transfers", &mut changes, View::Masked);
        assert_eq!(
            changes,
            json!({"id_number": [null, "1101************2X"], "name": [null, "张三"]})
        );
        let mut changes = json!({"id_number": FULL, "phone": "13912345678"});
        project_changes("gone_collection", &mut changes, View::Masked);
        assert_eq!(
            changes,
            json!({"id_number": "1101************2X", "phone": "139****5678"})
        );
        let mut changes = json!({"photos": [[hash], [hash, hash]], "signature": [null, hash]});
        project_changes("info_forms", &mut changes, View::Masked);
        assert_eq!(
            changes,
            json!({"photos": [null, null], "signature": [null, null]})
        );
        let mut unchanged = json!({"photos": [[hash], null]});
        project_changes("info_forms", &mut unchanged, View::Full);
        assert_eq!(unchanged, json!({"photos": [[hash], null]}));
    }
}
