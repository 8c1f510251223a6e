//! Why a mutation is refused: one typed value per refusal, whose code is the protocol's
//! (docs/protocol.md §1.5) and whose message is the Chinese the device shows.

use paicha_domain::api::ErrorDetail;
use paicha_domain::api::v1::{MutationResult, MutationStatus};
use paicha_domain::collection::{Collection, FieldError};
use paicha_domain::org::OrgUnitKind;
use paicha_domain::role::Role;
use serde_json::Value;

/// A refused mutation. The variants are push's own refusals; [`Rejection::Rule`] carries the
/// refusal of a rule of the collections (`domain::collection`, `domain::workflow`,
/// `domain::derived`), whose code, field and message the domain gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// `invalid_mutation`: a NUL character somewhere (PostgreSQL cannot store one).
    NulCharacter,
    /// `invalid_mutation`: the object does not parse; the parser's detail.
    Malformed(String),
    /// `invalid_mutation`: `client_time` over 64 characters, or with control characters.
    ClientTime,
    /// `invalid_mutation_id`: zero or negative.
    InvalidMutationId,
    /// `mutation_id_reused`: the device pushed other content under this id before.
    MutationIdReused,
    /// `unknown_collection`, with the name sent.
    UnknownCollection(String),
    /// `invalid_op`.
    InvalidOp,
    /// `id_taken`: a `put` of an id another tenant's record has.
    IdTaken,
    /// `not_found`: no such record (or another tenant's).
    RecordNotFound,
    /// `not_found`: no such unit in the tenant (`field`: where it was named).
    UnitNotFound { field: &'static str },
    /// `outside_scope`: the record is outside the writer's scope.
    RecordOutsideScope,
    /// `outside_scope`: the unit is outside the writer's subtree.
    UnitOutsideScope { field: &'static str },
    /// `outside_scope`: only the record's owning unit (or above) deletes it.
    NotOwner,
    /// `record_deleted`: a `put` or `patch` of a deleted record.
    RecordDeleted,
    /// `org_unit_required`: a new record without `org_unit_id`.
    OrgUnitRequired,
    /// `invalid_owner_unit`: that kind of unit does not own records of the collection.
    InvalidOwnerUnit {
        collection: Collection,
        kind: OrgUnitKind,
    },
    /// `forbidden`: the role does not create records of the collection.
    MayNotCreate { role: Role, collection: Collection },
    /// `forbidden`: the role does not delete records of the collection.
    MayNotDelete { role: Role, collection: Collection },
    /// `campaign_exists`: a second live campaign.
    CampaignExists,
    /// `org_unit_immutable`: an update naming another owner.
    OrgUnitImmutable,
    /// `invalid_reference`: a reference to a record or unit that is not there for the writer.
    InvalidReference {
        field: &'static str,
        label: &'static str,
    },
    /// `id_number_taken`: another live member of the tenant holds the number.
    IdNumberTaken,
    /// A rule of the collections refused the write.
    Rule(FieldError),
}

impl Rejection {
    /// Every refusal of push's own once for each collection, unit kind, role and field it can
    /// name (the rules' refusals are the domain's to list): for the tests that hold every code
    /// to the protocol and every message to the vocabulary.
    pub fn every_kind() -> Vec<Rejection> {
        let mut all = vec![
            Rejection::NulCharacter,
            Rejection::Malformed("missing field `op` at line 1 column 30".into()),
            Rejection::ClientTime,
            Rejection::InvalidMutationId,
            Rejection::MutationIdReused,
            Rejection::UnknownCollection("old_collection".into()),
            Rejection::InvalidOp,
            Rejection::IdTaken,
            Rejection::RecordNotFound,
            Rejection::UnitNotFound {
                field: "org_unit_id",
            },
            Rejection::RecordOutsideScope,
            Rejection::UnitOutsideScope {
                field: "org_unit_id",
            },
            Rejection::NotOwner,
            Rejection::RecordDeleted,
            Rejection::OrgUnitRequired,
            Rejection::CampaignExists,
            Rejection::OrgUnitImmutable,
            Rejection::IdNumberTaken,
        ];
        for collection in Collection::ALL {
            for kind in OrgUnitKind::ALL {
                all.push(Rejection::InvalidOwnerUnit { collection, kind });
            }
            for role in Role::ALL {
                all.push(Rejection::MayNotCreate { role, collection });
                all.push(Rejection::MayNotDelete { role, collection });
            }
            for spec in collection.schema().fields {
                all.push(Rejection::InvalidReference {
                    field: spec.name,
                    label: spec.label_zh,
                });
            }
        }
        all
    }

    /// The protocol's code (docs/protocol.md §1.5).
    pub fn code(&self) -> &'static str {
        match self {
            Self::NulCharacter | Self::Malformed(_) | Self::ClientTime => "invalid_mutation",
            Self::InvalidMutationId => "invalid_mutation_id",
            Self::MutationIdReused => "mutation_id_reused",
            Self::UnknownCollection(_) => "unknown_collection",
            Self::InvalidOp => "invalid_op",
            Self::IdTaken => "id_taken",
            Self::RecordNotFound | Self::UnitNotFound { .. } => "not_found",
            Self::RecordOutsideScope | Self::UnitOutsideScope { .. } | Self::NotOwner => {
                "outside_scope"
            }
            Self::RecordDeleted => "record_deleted",
            Self::OrgUnitRequired => "org_unit_required",
            Self::InvalidOwnerUnit { .. } => "invalid_owner_unit",
            Self::MayNotCreate { .. } | Self::MayNotDelete { .. } => "forbidden",
            Self::CampaignExists => "campaign_exists",
            Self::OrgUnitImmutable => "org_unit_immutable",
            Self::InvalidReference { .. } => "invalid_reference",
            Self::IdNumberTaken => "id_number_taken",
            Self::Rule(e) => e.code,
        }
    }

    /// The Chinese message the device shows.
    pub fn message(&self) -> String {
        match self {
            Self::NulCharacter => "变更中含有空字符（\\u0000）".to_owned(),
            // The parser's detail names keys and types of the wire: never shown to people.
            Self::Malformed(_) => "变更的格式不正确".to_owned(),
            Self::ClientTime => "变更的客户端时间不能超过64个字符".to_owned(),
            Self::InvalidMutationId => "变更序号应为正整数".to_owned(),
            Self::MutationIdReused => {
                "该设备已用此变更序号提交过内容不同的变更；请为新的变更使用更大的序号".to_owned()
            }
            // The name sent is the client's wire word: not repeated to people.
            Self::UnknownCollection(_) => "未知的数据集合".to_owned(),
            Self::InvalidOp => "变更的操作应为新建、修改或删除".to_owned(),
            Self::IdTaken => "该记录标识已被使用，请换一个".to_owned(),
            Self::RecordNotFound => "记录不存在".to_owned(),
            Self::UnitNotFound { .. } => "组织不存在".to_owned(),
            Self::RecordOutsideScope => "该记录不在您的管辖范围内".to_owned(),
            Self::UnitOutsideScope { .. } => "该组织不在您的管辖范围内".to_owned(),
            Self::NotOwner => "只有记录的所属组织可以删除它".to_owned(),
            Self::RecordDeleted => "该记录已删除".to_owned(),
            Self::OrgUnitRequired => "新建记录时须指定所属组织".to_owned(),
            Self::InvalidOwnerUnit { collection, kind } => format!(
                "{}不能属于{}",
                collection.schema().label_zh,
                kind.label_zh()
            ),
            Self::MayNotCreate { role, collection } => format!(
                "{}不能新建{}",
                role.label_zh(),
                collection.schema().label_zh
            ),
            Self::MayNotDelete { role, collection } => format!(
                "{}不能删除{}",
                role.label_zh(),
                collection.schema().label_zh
            ),
            Self::CampaignExists => {
                "本党工委已有一项排查工作，不能再新建；请修改现有的排查工作".to_owned()
            }
            Self::OrgUnitImmutable => "记录的所属组织不能更改".to_owned(),
            Self::InvalidReference { label, .. } => {
                format!("「{label}」引用的记录不存在或不在您的管辖范围内")
            }
            Self::IdNumberTaken => {
                "本党工委已有在册党员使用此公民身份号码，请核对；同一人不能重复登记".to_owned()
            }
            Self::Rule(e) => e.message.clone(),
        }
    }

    /// The field the refusal names, if it names one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::NulCharacter
            | Self::Malformed(_)
            | Self::MayNotCreate { .. }
            | Self::MayNotDelete { .. }
            | Self::CampaignExists => None,
            Self::ClientTime => Some("client_time"),
            Self::InvalidMutationId | Self::MutationIdReused => Some("mutation_id"),
            Self::UnknownCollection(_) => Some("collection"),
            Self::InvalidOp => Some("op"),
            Self::IdTaken
            | Self::RecordNotFound
            | Self::RecordOutsideScope
            | Self::NotOwner
            | Self::RecordDeleted => Some("id"),
            Self::OrgUnitRequired | Self::InvalidOwnerUnit { .. } | Self::OrgUnitImmutable => {
                Some("org_unit_id")
            }
            Self::UnitNotFound { field }
            | Self::UnitOutsideScope { field }
            | Self::InvalidReference { field, .. } => Some(*field),
            Self::IdNumberTaken => Some("id_number"),
            Self::Rule(e) => Some(e.field.as_str()),
        }
    }

    /// The result a device gets for the refused mutation `mutation_id`.
    pub fn result(&self, mutation_id: Value) -> MutationResult {
        MutationResult {
            mutation_id,
            status: MutationStatus::Rejected,
            version: None,
            conflicts: None,
            error: Some(ErrorDetail {
                code: self.code().to_owned(),
                message: self.message(),
                field: self.field().map(str::to_owned),
                retry_after: None,
            }),
            first_status: None,
            missing_blobs: None,
        }
    }
}

impl From<FieldError> for Rejection {
    fn from(e: FieldError) -> Self {
        Self::Rule(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code push gives is one of the protocol's per-mutation codes.
    #[test]
    fn codes_are_the_protocols() {
        let protocol = include_str!("../../../../docs/protocol.md");
        let start = protocol
            .find("### 1.5 Per-mutation codes")
            .unwrap_or_default();
        let table = &protocol[start..];
        let table = &table[..table.find("\n## ").unwrap_or(table.len())];
        let all = Rejection::every_kind();
        for r in &all {
            let row = format!("| `{}` |", r.code());
            assert!(table.contains(&row), "{} is not in §1.5", r.code());
            assert!(!r.message().is_empty());
        }
    }
}
