//! Sync collections: what a record of each collection may hold, who may write which field, and
//! the validation of every write.
//!
//! A collection is declared once, as data, in [`schemas`]: its fields with their types and
//! writers, which kinds of unit own its records, and whether records are addressed down to a
//! branch. Adding a field is one line there; adding a collection is a variant of
//! [`Collection`], a declaration, and a migration creating its table.

mod describe;
pub(crate) mod labels;
mod member_fit;
mod schemas;
mod validate;

use serde::{Deserialize, Serialize};

use crate::org::OrgUnitKind;
use crate::role::Role;

pub use describe::describe;
pub use labels::{enum_label, word_for_label, word_label};
pub use member_fit::{check_archive_review_member, check_disposition_fits};
pub use validate::{
    FieldError, LEGACY_ENTERED, Mode, PAST_DATES, check_past_dates, check_record, validate_fields,
};

/// The sync collections (docs/protocol.md §9), one table each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Collection {
    Members,
    InfoForms,
    RosterLedgerEntries,
    LedgerSubmissions,
    ArchiveReviews,
    ContactCases,
    ContactAttempts,
    DepartmentSearchRequests,
    Transfers,
    PerformanceChecks,
    Dispositions,
    Campaigns,
    WorkingGroups,
}

impl Collection {
    pub const ALL: [Collection; 13] = [
        Self::Members,
        Self::InfoForms,
        Self::RosterLedgerEntries,
        Self::LedgerSubmissions,
        Self::ArchiveReviews,
        Self::ContactCases,
        Self::ContactAttempts,
        Self::DepartmentSearchRequests,
        Self::Transfers,
        Self::PerformanceChecks,
        Self::Dispositions,
        Self::Campaigns,
        Self::WorkingGroups,
    ];

    /// The wire name, which is also the table name.
    pub fn as_str(self) -> &'static str {
        self.schema().name
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn schema(self) -> &'static Schema {
        schemas::schema(self)
    }
}

/// The declaration of one collection.
#[derive(Debug)]
pub struct Schema {
    pub collection: Collection,
    /// Wire name and table name.
    pub name: &'static str,
    pub label_zh: &'static str,
    /// Kinds of unit that may own a record.
    pub owner_kinds: &'static [OrgUnitKind],
    /// Roles that may create and delete records.
    pub creators: &'static [Role],
    /// A field naming the branch a record is addressed down to (transfers: the street's record
    /// for the branch that must follow it up). The addressee and its ancestors see the record,
    /// and the addressee's roles may write the fields they are writers of.
    pub addressed_to: Option<&'static str>,
    pub fields: &'static [FieldSpec],
}

impl Schema {
    pub fn field(&self, name: &str) -> Option<&'static FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// One field of a collection.
#[derive(Debug)]
pub struct FieldSpec {
    pub name: &'static str,
    pub label_zh: &'static str,
    pub ty: FieldType,
    /// Must be present (and not null) when the record is created, and cannot be cleared.
    pub required: bool,
    /// Roles that may set this field (docs/domain.md §9).
    pub writers: &'static [Role],
}

/// The type of a field's value on the wire. `null` clears an optional field.
#[derive(Debug, Clone, Copy)]
pub enum FieldType {
    /// A string, trimmed, at most this many characters.
    Text(usize),
    /// `YYYY-MM-DD`.
    Date,
    Bool,
    /// An integer within the bounds.
    Int {
        min: i64,
        max: i64,
    },
    /// One of the listed snake_case words.
    Enum(&'static [&'static str]),
    /// A list of distinct words, each one of the listed.
    EnumList(&'static [&'static str]),
    /// A 公民身份号码 (GB 11643-1999), normalized to upper-case X.
    IdNumber,
    /// The id (UUID) of a record of that collection, in the caller's scope.
    Ref(Collection),
    /// The id (UUID) of an org unit of that kind, in the caller's tenant.
    Unit(OrgUnitKind),
    /// A blob's SHA-256, 64 lower-case hex digits.
    Blob,
    /// A list of blob hashes.
    BlobList,
    /// A list of people: `[{"name": "…", "duty": "…"}]`.
    People,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_collection_is_declared_once_under_its_own_name() {
        let mut names = std::collections::HashSet::new();
        for c in Collection::ALL {
            let s = c.schema();
            assert_eq!(s.collection, c);
            assert!(names.insert(s.name), "duplicate {}", s.name);
            assert_eq!(Collection::parse(s.name), Some(c));
            let json = serde_json::to_string(&c).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", s.name));
            assert!(
                !s.owner_kinds.is_empty() && !s.creators.is_empty(),
                "{}",
                s.name
            );
            let mut fields = std::collections::HashSet::new();
            for f in s.fields {
                assert!(
                    fields.insert(f.name),
                    "duplicate field {}.{}",
                    s.name,
                    f.name
                );
                // Only fields the server stamps have no writer.
                let stamped = crate::workflow::is_stamped(s.collection, f.name);
                assert_eq!(
                    f.writers.is_empty(),
                    stamped,
                    "{}.{}: no writer unless stamped by the server",
                    s.name,
                    f.name
                );
                assert!(
                    f.name
                        .chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_'),
                    "{}.{} is not snake_case",
                    s.name,
                    f.name
                );
            }
            if let Some(addressed) = s.addressed_to {
                assert!(matches!(
                    s.field(addressed).map(|f| f.ty),
                    Some(FieldType::Unit(_))
                ));
            }
            // A creator must be able to write the required fields.
            for f in s.fields.iter().filter(|f| f.required) {
                assert!(
                    s.creators.iter().any(|r| f.writers.contains(r)),
                    "{}.{} is required but no creator may write it",
                    s.name,
                    f.name
                );
            }
        }
        assert_eq!(Collection::parse("people"), None);
    }

    #[test]
    fn members_carry_the_fixed_fields_of_design_md() {
        let s = Collection::Members.schema();
        for name in [
            "name",
            "gender",
            "id_number",
            "birth_date",
            "ethnicity",
            "phone",
            "member_type",
            "join_date",
            "full_member_date",
            "education",
            "work_unit",
            "residence",
            "household_registration",
            "last_activity_on",
            "last_dues_paid_on",
            "whereabouts_known",
            "flow_out_on",
            "flow_out_reason",
            "flow_destination",
        ] {
            assert!(s.field(name).is_some(), "members.{name} missing");
        }
        let c = Collection::Campaigns.schema();
        assert!(c.field("name").is_some_and(|f| f.required));
        assert!(c.field("start_date").is_some_and(|f| f.required));
        assert_eq!(c.owner_kinds, &[OrgUnitKind::Committee]);
    }
}
