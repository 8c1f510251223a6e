//! Rules a record must fit against the member it is about, checked by the push where both are
//! at hand: an archive review of a cadre file, a disposition of the wrong kind.

use serde_json::{Map, Value};

use super::FieldError;

/// An archive review may be opened for `member` (its fields): "干部人事档案不再审核" (docs/domain.md
/// §8, the archive check: cadre personnel files are not re-audited; where a check is needed,
/// the branch applies and the committee sends staff or coordinates it). A member whose file is
/// a cadre file (`cadre_file: true`) gets no review: `cadre_file_not_reviewed`.
pub fn check_archive_review_member(member: &Map<String, Value>) -> Result<(), FieldError> {
    if member.get("cadre_file").and_then(Value::as_bool) == Some(true) {
        return Err(FieldError::new(
            "member_id",
            "cadre_file_not_reviewed",
            "该党员的档案为干部人事档案，干部人事档案不再审核；确需核查的，由党支部申请，党工委派人或协调配合核查",
        ));
    }
    Ok(())
}

/// A disposition must fit the member it is for (docs/domain.md §6.6): cancelling probation or
/// not keeping it (取消预备党员资格、不予转正) is for a probationary member; a suspension (停止党籍)
/// for a full member (a probationary member who lost contact has the probation cancelled); and
/// a member already off the roster gets no new disposition. A member whose 人员类别 is not
/// recorded is not checked for it.
pub fn check_disposition_fits(
    disposition_type: &str,
    member: &Map<String, Value>,
) -> Result<(), FieldError> {
    let does_not_fit = |message: &str| {
        Err(FieldError::new(
            "disposition_type",
            "disposition_does_not_fit",
            message.to_owned(),
        ))
    };
    if member.get("roster_status").and_then(Value::as_str) == Some("removed_from_roster") {
        return does_not_fit("该党员已移出党员花名册，不能再作处置");
    }
    let member_type = member.get("member_type").and_then(Value::as_str);
    match (disposition_type, member_type) {
        ("cancel_probation" | "probation_not_retained", Some("full")) => {
            does_not_fit("该党员为正式党员：取消预备党员资格、不予转正只适用于预备党员")
        }
        ("suspend", Some("probationary")) => does_not_fit(
            "该党员为预备党员：停止党籍只适用于正式党员，预备党员失去联系的应取消预备党员资格",
        ),
        _ => Ok(()),
    }
}
