//! Push, pull, checksums, conflicts, the audit trail and blobs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST /v1/sync/push`. Mutations are read one by one, so one malformed mutation is
/// rejected on its own instead of failing the batch.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub device_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Mutation>, max_items = 1000))]
    pub mutations: Vec<serde_json::Value>,
}

/// One change a device made. `op`: `put` (create or replace), `patch` (the listed fields
/// only), `delete` (a tombstone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Mutation {
    /// Positive, increasing per device; a retry carries the same id.
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub mutation_id: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::collection::Collection))]
    pub collection: String,
    pub id: Uuid,
    /// The owning unit; required when a put creates a record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_unit_id: Option<Uuid>,
    #[cfg_attr(feature = "openapi", schema(value_type = MutationOp))]
    pub op: String,
    /// The record version the device's edit was based on; with it, a concurrent edit of the
    /// same field is detected and kept in the conflict log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// When the device made the change (its own clock, kept in the audit trail as given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_time: Option<String>,
}

/// What a mutation does, as its `op` names it (the schema of [`Mutation::op`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MutationOp {
    Put,
    Patch,
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MutationStatus {
    /// Applied.
    Applied,
    /// Applied; concurrent values of the listed fields were overwritten and kept in the
    /// conflict log.
    Merged,
    /// Seen before; the first result again.
    Duplicate,
    /// Refused for validation or permission; `error` says why.
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MutationResult {
    /// The mutation's id as sent.
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub mutation_id: serde_json::Value,
    pub status: MutationStatus,
    /// The record's version after the mutation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflicts: Option<Vec<FieldConflict>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::api::ErrorDetail>,
    /// With `duplicate`: the status the mutation got the first time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_status: Option<MutationStatus>,
    /// Blobs the record references whose content has not been uploaded yet: the record is
    /// stored, and incomplete until they arrive (`PUT /v1/blobs/{sha256}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing_blobs: Option<Vec<String>>,
}

/// A field whose concurrent value was overwritten by this mutation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldConflict {
    pub field: String,
    pub overwritten_value: serde_json::Value,
    pub overwritten_version: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResponse {
    pub results: Vec<MutationResult>,
    /// A pull cursor at which every change of this push is visible (a write checkpoint).
    pub cursor: String,
}

/// One record as a pull returns it. A tombstone has `deleted: true` and no fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    pub collection: crate::collection::Collection,
    pub id: Uuid,
    pub org_unit_id: Uuid,
    pub version: u64,
    pub deleted: bool,
    pub fields: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullResponse {
    pub changes: Vec<Change>,
    /// Opaque; pass it to the next pull.
    pub cursor: String,
    /// More changes are waiting: pull again at once.
    pub has_more: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CollectionChecksum {
    /// Live records in the caller's scope.
    pub count: u64,
    /// Order-independent hash over `(id, version)` of those records, 32 hex digits.
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChecksumResponse {
    pub collections: std::collections::BTreeMap<String, CollectionChecksum>,
    /// The state the checksums describe: a replica pulled up to this cursor should match.
    pub cursor: String,
}

/// A value overwritten by a concurrent edit of the same field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conflict {
    pub id: Uuid,
    pub collection: String,
    pub record_id: Uuid,
    pub org_unit_id: Uuid,
    pub field: String,
    pub overwritten_value: serde_json::Value,
    pub overwritten_version: u64,
    pub winning_value: serde_json::Value,
    pub winning_version: u64,
    /// Who wrote the winning value, from which device.
    pub user_id: Uuid,
    pub device_id: String,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConflictList {
    pub conflicts: Vec<Conflict>,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub version: u64,
    pub collection: String,
    pub record_id: Uuid,
    pub org_unit_id: Uuid,
    pub op: String,
    pub user_id: Uuid,
    /// Who made the change, as people read it: the user's name, or its username (null when
    /// the account is gone).
    #[serde(default)]
    pub user_name: Option<String>,
    pub device_id: String,
    pub mutation_id: i64,
    pub server_time: DateTime<Utc>,
    pub client_time: Option<String>,
    /// Field → `[old, new]`.
    pub changes: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditList {
    pub entries: Vec<AuditEntry>,
}

// ---- Blobs ------------------------------------------------------------------------------

/// The state of a blob's upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlobStatus {
    pub sha256: String,
    /// Bytes received so far (the whole size once complete).
    pub received: u64,
    pub complete: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MissingBlobs {
    /// Blobs referenced by records in the caller's scope whose content has not arrived.
    pub missing: Vec<String>,
}
