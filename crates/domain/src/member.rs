//! The member (党员) and the fields of the Member Info Collection Form (党员信息采集表, Annex 1).
//!
//! See docs/domain.md §5.2. Only the closed vocabularies live here for now.

use serde::{Deserialize, Serialize};

/// 性别 — sex as recorded on the member record and encoded in the 公民身份号码
/// (17th digit: odd = male, even = female; see [`crate::id_number::IdNumber::gender`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Gender {
    /// 男
    Male,
    /// 女
    Female,
}

/// 人员类别 — "正式党员 / 预备党员": a full or a probationary member (docs/domain.md §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MemberType {
    /// 正式党员
    Full,
    /// 预备党员
    Probationary,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn gender_wire_names() {
        let table: &[(Gender, &str)] =
            &[(Gender::Male, "\"male\""), (Gender::Female, "\"female\"")];
        for (value, json) in table {
            assert_eq!(serde_json::to_string(value).unwrap(), *json);
            assert_eq!(serde_json::from_str::<Gender>(json).unwrap(), *value);
        }
    }

    #[test]
    fn member_type_wire_names() {
        let table: &[(MemberType, &str)] = &[
            (MemberType::Full, "\"full\""),
            (MemberType::Probationary, "\"probationary\""),
        ];
        for (value, json) in table {
            assert_eq!(serde_json::to_string(value).unwrap(), *json);
            assert_eq!(serde_json::from_str::<MemberType>(json).unwrap(), *value);
        }
    }
}
