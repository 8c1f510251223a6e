//! `GET /v1/status`: what the committee wants to see (DOMAIN.md §10), for a unit and each of
//! its children.

use std::collections::HashSet;

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use paicha_domain::api::ErrorBody;
use paicha_domain::api::v1::UnitStatus;
use paicha_domain::collection::Collection;
use paicha_domain::status::{Counts, FormFacts, MemberFacts};
use paicha_storage::{FactRow, OrgUnitRecord};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::ApiResult;
use crate::extract::{ApiQuery, AuthUser};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// The unit; default the caller's own.
    org_unit_id: Option<Uuid>,
}

fn date(v: Option<&String>) -> Option<NaiveDate> {
    v.and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

fn truthy(v: Option<&String>) -> Option<bool> {
    v.map(|s| s == "1" || s == "true")
}

fn list_len(v: Option<&String>) -> usize {
    v.and_then(|s| serde_json::from_str::<Vec<serde_json::Value>>(s).ok())
        .map_or(0, |l| l.len())
}

/// Progress of a unit and of each child unit: members, verification, lost contact at the
/// campaign's start, mobile members, forms, ledgers, searches, transfers, archives,
/// dispositions.
#[utoipa::path(
    get, path = "/v1/status", tag = "status",
    params(StatusQuery),
    responses(
        (status = 200, description = "Counts of the unit and each child", body = UnitStatus),
        (status = 403, description = "The caller may not read member data", body = ErrorBody),
        (status = 404, description = "No such unit in the caller's scope", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn status(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiQuery(query): ApiQuery<StatusQuery>,
) -> ApiResult<Json<UnitStatus>> {
    let (_, target) =
        crate::routes::sync::data_target(&state, &principal, query.org_unit_id).await?;
    let children: Vec<OrgUnitRecord> = state
        .store
        .org_subtree(&target)
        .await?
        .into_iter()
        .filter(|u| u.parent_id == Some(target.id))
        .collect();
    let scope = crate::routes::sync::scope(&target);

    let campaign_start = state
        .store
        .record_facts(scope, Collection::Campaigns, &["start_date"])
        .await?
        .iter()
        .filter_map(|r| date(r.values.first().and_then(Option::as_ref)))
        .max();

    // Counts of the target, then one per child, matched by path prefix.
    let mut totals = Counts::default();
    let mut per_child = vec![Counts::default(); children.len()];
    let mut each = |row: &FactRow, add: &dyn Fn(&mut Counts)| {
        add(&mut totals);
        if let Some(i) = children.iter().position(|c| row.path.starts_with(&c.path)) {
            add(&mut per_child[i]);
        }
    };

    let fields = &[
        "roster_status",
        "contact_status",
        "member_type",
        "whereabouts_known",
        "last_activity_on",
        "last_dues_paid_on",
    ];
    for row in state
        .store
        .record_facts(scope, Collection::Members, fields)
        .await?
    {
        let v = &row.values;
        let get = |i: usize| v.get(i).and_then(Option::as_ref);
        let facts = MemberFacts {
            roster_status: get(0).map(String::as_str),
            contact_status: get(1).map(String::as_str),
            member_type: get(2).map(String::as_str),
            whereabouts_known: truthy(get(3)),
            last_activity_on: date(get(4)),
            last_dues_paid_on: date(get(5)),
        };
        each(&row, &|c| c.add_member(&facts, campaign_start));
    }

    let fields = &[
        "confirmation_mode",
        "copies",
        "photos",
        "signature",
        "fingerprint",
        "flag_photo",
    ];
    for row in state
        .store
        .record_facts(scope, Collection::InfoForms, fields)
        .await?
    {
        let v = &row.values;
        let get = |i: usize| v.get(i).and_then(Option::as_ref);
        let facts = FormFacts {
            confirmation_mode: get(0).map(String::as_str),
            copies: get(1).and_then(|s| s.parse().ok()),
            photos: list_len(get(2)),
            signature: get(3).is_some(),
            fingerprint: get(4).is_some(),
            flag_photo: get(5).is_some(),
        };
        each(&row, &|c| c.add_form(&facts));
    }

    for row in state
        .store
        .record_facts(scope, Collection::RosterLedgerEntries, &["ledger"])
        .await?
    {
        let ledger = row.values.first().cloned().flatten();
        each(&row, &|c| c.add_ledger_entry(ledger.as_deref()));
    }

    let attempts = state
        .store
        .record_facts(scope, Collection::ContactAttempts, &["case_id"])
        .await?;
    let attempted: HashSet<String> = attempts
        .iter()
        .filter_map(|r| r.values.first().cloned().flatten())
        .collect();
    for row in &attempts {
        each(row, &|c| c.add_attempt());
    }
    for row in state
        .store
        .record_facts(scope, Collection::ContactCases, &["result", "found_by"])
        .await?
    {
        let result = row.values.first().cloned().flatten();
        let found_by = row.values.get(1).cloned().flatten();
        let has_attempt = attempted.contains(&row.id.to_string());
        each(&row, &|c| {
            c.add_case(result.as_deref(), found_by.as_deref(), has_attempt)
        });
    }

    for (collection, field) in [
        (Collection::DepartmentSearchRequests, "status"),
        (Collection::Transfers, "receipt_status"),
        (Collection::ArchiveReviews, "status"),
    ] {
        for row in state
            .store
            .record_facts(scope, collection, &[field])
            .await?
        {
            let value = row.values.first().cloned().flatten();
            each(&row, &|c| match collection {
                Collection::DepartmentSearchRequests => c.add_department_request(value.as_deref()),
                Collection::Transfers => c.add_transfer(value.as_deref()),
                _ => c.add_archive_review(value.as_deref()),
            });
        }
    }

    for row in state
        .store
        .record_facts(
            scope,
            Collection::Dispositions,
            &["disposition_type", "status"],
        )
        .await?
    {
        let kind = row.values.first().cloned().flatten();
        let status = row.values.get(1).cloned().flatten();
        each(&row, &|c| {
            c.add_disposition(kind.as_deref(), status.as_deref())
        });
    }

    let children = children
        .into_iter()
        .zip(per_child)
        .map(|(unit, counts)| UnitStatus {
            org_unit_id: unit.id,
            name: unit.name,
            kind: unit.kind,
            campaign_start_date: None,
            counts,
            children: vec![],
        })
        .collect();
    Ok(Json(UnitStatus {
        org_unit_id: target.id,
        name: target.name,
        kind: target.kind,
        campaign_start_date: campaign_start,
        counts: totals,
        children,
    }))
}
