//! `GET /v1/proposals`: what the rules of docs/domain.md §8 propose for each member of a unit, shown
//! beside the member: lost contact and mobility at the campaign's start, the form exemption,
//! and the clock of a suspension in effect. Proposals only: nothing is written.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use paicha_domain::api::ErrorBody;
use paicha_domain::api::v1::{
    ExemptionProposalView, IdentityProposal, LostContactProposal, MemberProposals, MobileProposal,
    ProposalList, SuspensionView,
};
use paicha_domain::campaign::{Plan, suspension_clock};
use paicha_domain::collection::Collection;
use paicha_domain::exemption::{
    BranchSetting, ExemptionFacts, ExemptionProposal, propose_form_exemption,
};
use paicha_domain::lost_contact::{
    ContactFacts, LostContactAssessment, MOBILE_MONTHS, MobileAssessment,
    assess_lost_contact_months, assess_mobile,
};
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::extract::{ApiQuery, AuthUser};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProposalQuery {
    /// The unit; default the caller's own.
    org_unit_id: Option<Uuid>,
    /// The day suspension clocks are judged on (YYYY-MM-DD); default today in China.
    as_of: Option<NaiveDate>,
    /// Only members for whom some rule proposes something.
    #[serde(default)]
    only_proposed: bool,
}

fn date(fields: &Map<String, Value>, name: &str) -> Option<NaiveDate> {
    fields
        .get(name)
        .and_then(Value::as_str)
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

fn flag(fields: &Map<String, Value>, name: &str) -> Option<bool> {
    fields.get(name).and_then(Value::as_bool)
}

/// The proposals for each member of the unit and its subtree.
#[utoipa::path(
    get, path = "/v1/proposals", tag = "status",
    params(ProposalQuery),
    responses(
        (status = 200, description = "Each member with what the rules propose", body = ProposalList),
        (status = 403, description = "The caller may not read member data", body = ErrorBody),
        (status = 404, description = "No such unit in the caller's scope", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn proposals(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiQuery(query): ApiQuery<ProposalQuery>,
) -> ApiResult<Json<ProposalList>> {
    let (_, target) = crate::access::data_target(&state, &principal, query.org_unit_id).await?;
    // The tenant's campaign (the one starting last), read directly: a proposals request must
    // not load the whole status read model.
    let campaigns = state
        .store
        .live_records(crate::access::scope(&target), Collection::Campaigns)
        .await?;
    let plan = Plan::latest(campaigns.iter().map(|(id, _, fields)| (*id, fields))).map(|(_, p)| p);
    let as_of = query
        .as_of
        .unwrap_or_else(|| paicha_domain::calendar::china_date(chrono::Utc::now()));
    let scope = crate::access::scope(&target);

    // Each member's latest effective disposition: a suspension runs its clock only while it
    // stands (a later restoration, removal or death ends it).
    let mut standing: HashMap<Uuid, (NaiveDate, Uuid, bool)> = HashMap::new();
    for (id, _, fields) in state
        .store
        .live_records(scope, Collection::Dispositions)
        .await?
    {
        if fields.get("status").and_then(Value::as_str) != Some("effective") {
            continue;
        }
        let suspends = fields.get("disposition_type").and_then(Value::as_str) == Some("suspend");
        let member = fields
            .get("member_id")
            .and_then(Value::as_str)
            .and_then(|s| Uuid::parse_str(s).ok());
        if let (Some(member), Some(on)) = (member, date(&fields, "effective_on")) {
            let entry = standing.entry(member).or_insert((on, id, suspends));
            if (on, id) > (entry.0, entry.1) {
                *entry = (on, id, suspends);
            }
        }
    }
    let suspensions: HashMap<Uuid, (Uuid, NaiveDate)> = standing
        .into_iter()
        .filter(|(_, (_, _, suspends))| *suspends)
        .map(|(member, (on, id, _))| (member, (id, on)))
        .collect();
    // Each member's archive reviews, latest last, for an identity not recognized.
    let mut reviews: HashMap<Uuid, (Uuid, serde_json::Map<String, Value>)> = HashMap::new();
    for (id, _, fields) in state
        .store
        .live_records(scope, Collection::ArchiveReviews)
        .await?
    {
        if let Some(member) = paicha_domain::derived::member_of(&fields) {
            reviews.insert(member, (id, fields));
        }
    }
    let mut members = Vec::new();
    for (id, unit, fields) in state.store.live_records(scope, Collection::Members).await? {
        if fields.get("roster_status").and_then(Value::as_str) == Some("removed_from_roster") {
            continue;
        }
        let whereabouts_known = flag(&fields, "whereabouts_known");
        let (lost_contact, mobile) = match &plan {
            Some(plan) => {
                let contact = ContactFacts {
                    whereabouts_known,
                    last_activity_on: date(&fields, "last_activity_on"),
                    last_dues_paid_on: date(&fields, "last_dues_paid_on"),
                };
                let lost = assess_lost_contact_months(
                    &contact,
                    plan.start_date,
                    plan.lost_threshold_months,
                );
                let (last_contact_on, months_without_contact, needs_manual_review) = match lost {
                    LostContactAssessment::Lost {
                        last_contact_on,
                        months_without_contact,
                        needs_manual_review,
                    } => (last_contact_on, months_without_contact, needs_manual_review),
                    LostContactAssessment::NotLost(_) => (None, None, false),
                };
                let mobile = assess_mobile(
                    date(&fields, "flow_out_on"),
                    whereabouts_known,
                    plan.start_date,
                    MOBILE_MONTHS,
                );
                (
                    Some(LostContactProposal {
                        proposed: lost.is_lost(),
                        reason_zh: lost
                            .reason_zh_months(plan.start_date, plan.lost_threshold_months),
                        last_contact_on,
                        months_without_contact,
                        needs_manual_review,
                    }),
                    Some(MobileProposal {
                        proposed: mobile.is_mobile(),
                        reason_zh: mobile.reason_zh(),
                        months_away: match mobile {
                            MobileAssessment::Mobile { months_away, .. } => Some(months_away),
                            MobileAssessment::NotMobile => None,
                        },
                    }),
                )
            }
            None => (None, None),
        };
        let setting = match fields.get("org_category").and_then(Value::as_str) {
            Some("rural") => BranchSetting::Rural,
            Some("street_community") => BranchSetting::Community,
            _ => BranchSetting::Other,
        };
        let exemption = propose_form_exemption(
            &ExemptionFacts {
                joined_on: date(&fields, "join_date"),
                relationship_uninterrupted: flag(&fields, "relationship_uninterrupted")
                    == Some(true),
                retired: flag(&fields, "retired") == Some(true),
                birth_date: date(&fields, "birth_date"),
                branch_setting: setting,
            },
            plan.as_ref().map_or(as_of, |p| p.start_date),
        );
        let (proposal, ground) = match exemption {
            ExemptionProposal::Exempt { ground } => ("exempt", Some(ground)),
            ExemptionProposal::EligibleByReference { ground } => {
                ("eligible_by_reference", Some(ground))
            }
            ExemptionProposal::NotExempt => ("not_exempt", None),
        };
        let suspension = suspensions.get(&id).map(|(disposition_id, effective_on)| {
            let clock = suspension_clock(
                Plan::suspension_ends_on(plan.as_ref(), *effective_on),
                as_of,
            );
            SuspensionView {
                disposition_id: *disposition_id,
                effective_on: *effective_on,
                reminder_zh: clock.reminder_zh(),
                clock,
            }
        });
        let identity_not_recognized = reviews.get(&id).and_then(|(review_id, review)| {
            let reason = paicha_domain::derived::identity_proposal(review, &fields)?;
            Some(IdentityProposal {
                archive_review_id: *review_id,
                reason_zh: reason.to_owned(),
            })
        });
        let proposes = lost_contact.as_ref().is_some_and(|l| l.proposed)
            || mobile.as_ref().is_some_and(|m| m.proposed)
            || ground.is_some()
            || suspension.is_some()
            || identity_not_recognized.is_some();
        if query.only_proposed && !proposes {
            continue;
        }
        members.push(MemberProposals {
            member_id: id,
            org_unit_id: unit.uuid(),
            name: fields
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            lost_contact,
            mobile,
            form_exemption: ExemptionProposalView {
                proposal: proposal.to_owned(),
                ground,
                reason_zh: exemption.reason_zh(),
            },
            suspension,
            identity_not_recognized,
        });
    }
    Ok(Json(ProposalList {
        org_unit_id: target.id.uuid(),
        as_of,
        campaign_start_date: plan.map(|p| p.start_date),
        members,
    }))
}
