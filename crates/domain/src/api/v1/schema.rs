//! The document of `GET /v1/schema`: collections, fields, workflows and rules.

use serde::{Deserialize, Serialize};

use crate::org::OrgUnitKind;
use crate::role::Role;

/// `GET /v1/schema`: the collections as the server declares them, so that a client renders
/// and validates its forms from the server's own rules (docs/protocol.md §9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SchemaDoc {
    /// Changes whenever anything below changes (a hash of it): a client keeps its copy until
    /// the version differs.
    pub version: String,
    pub collections: Vec<CollectionDoc>,
    /// Roles: their Chinese names, the kinds of unit each may sit at, and which roles a user of
    /// each may give to an account and manage.
    pub roles: Vec<RoleDoc>,
    /// The kinds of unit and their Chinese names.
    #[serde(default)]
    pub unit_kinds: Vec<EnumWord>,
    /// Which kinds of unit may be created below a unit of each kind, the next level first
    /// (`org::check_placement`; a branch has none).
    #[serde(default)]
    pub unit_children: Vec<UnitChildren>,
    /// The campaign's phases (`GET /v1/status`'s `phases[].phase`).
    #[serde(default)]
    pub phases: Vec<EnumWord>,
    /// Where a phase stands (`phases[].state`, a ledger submission's `state`).
    #[serde(default)]
    pub phase_states: Vec<EnumWord>,
    /// Every key of the status's `counts`.
    #[serde(default)]
    pub counts: Vec<EnumWord>,
    /// What a change of the audit trail did (`GET /v1/audit`'s `op`).
    #[serde(default)]
    pub audit_ops: Vec<EnumWord>,
    /// What an account log entry records (`GET /v1/users/{id}/log`'s `action`) and the keys of
    /// its `detail`.
    #[serde(default)]
    pub account_actions: Vec<EnumWord>,
    #[serde(default)]
    pub account_fields: Vec<EnumWord>,
}

/// The kinds of unit that may hang below a unit of `kind`, the next level first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitChildren {
    pub kind: OrgUnitKind,
    pub children: Vec<OrgUnitKind>,
}

/// A role, as `GET /v1/schema` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleDoc {
    pub value: String,
    pub label: String,
    /// The kinds of unit an account of this role may sit at (empty: bound to no unit).
    #[serde(default)]
    pub unit_kinds: Vec<OrgUnitKind>,
    /// The roles a user of this role may give to an account (at a unit of a kind the given
    /// role fits), creating it or changing it.
    #[serde(default)]
    pub assigns: Vec<Role>,
    /// The roles of the accounts a user of this role manages (changes, disables, resets).
    #[serde(default)]
    pub manages: Vec<Role>,
}

/// One collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CollectionDoc {
    pub name: String,
    pub label: String,
    /// Kinds of unit that may own a record.
    pub owner_kinds: Vec<OrgUnitKind>,
    /// Roles that may create and delete records.
    pub creators: Vec<Role>,
    /// The field naming the branch a record is addressed down to, if any.
    pub addressed_to: Option<String>,
    pub fields: Vec<FieldDoc>,
    /// The status fields' state machines.
    pub workflows: Vec<WorkflowDoc>,
    /// Rules across fields, as the server words them (code, the field a refusal names).
    pub rules: Vec<RuleDoc>,
}

/// One field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldDoc {
    pub name: String,
    pub label: String,
    /// `text`, `date`, `bool`, `int`, `enum`, `enum_list`, `id_number`, `ref`, `unit`, `blob`,
    /// `blob_list` or `people`.
    #[serde(rename = "type")]
    pub ty: String,
    /// Must be present on creation and can never be cleared.
    pub required: bool,
    /// Roles that may set it; empty for a field the server stamps.
    pub writers: Vec<Role>,
    /// `text`: most characters after trimming.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    /// `int`: the bounds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// `enum`, `enum_list`: the words and their Chinese labels, in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<EnumWord>>,
    /// `ref`: the collection referred to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub references: Option<String>,
    /// `unit`: the kind of unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_kind: Option<OrgUnitKind>,
    /// `blob_list`: most hashes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u32>,
    /// The server writes it (a date stamped when a status moves); no role may.
    pub stamped: bool,
}

/// A word of an enum, with its Chinese label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnumWord {
    pub value: String,
    pub label: String,
}

/// The state machine of one status field (docs/protocol.md §9.16).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkflowDoc {
    pub field: String,
    /// Values a record may be created with.
    pub initial: Vec<String>,
    /// The state of a record whose field was never set.
    pub implicit: String,
    /// Where the matter is settled.
    pub ends: Vec<String>,
    pub steps: Vec<StepDoc>,
    /// What some states need on the record (`required_for_step`).
    pub requires: Vec<StepRequirement>,
}

/// One allowed move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepDoc {
    pub from: String,
    pub to: String,
    /// Who may take it; empty: any role that may write the field.
    pub roles: Vec<Role>,
}

/// A state and the fields a record in it must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepRequirement {
    pub value: String,
    pub fields: Vec<String>,
}

/// A rule across fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleDoc {
    /// The error code of a refusal.
    pub code: String,
    /// The field a refusal names.
    pub field: String,
    /// What the rule says, in Chinese.
    pub description: String,
    /// `channel_method_mismatch`: each method and the channels that belong to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<RuleGroup>>,
}

/// A word and the words that go with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleGroup {
    pub value: String,
    pub members: Vec<String>,
}
