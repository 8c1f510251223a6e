//! Typed dates waiting for the 组织办's acceptance (docs/domain.md §8.15, docs/protocol.md
//! §12.12): a confirmation, search attempt or receipt typed earlier than the day it reached the
//! server is judged by that day until the 组织办 accepts the typed date.

use axum::Json;
use axum::extract::State;
use paicha_domain::api::ErrorBody;
use paicha_domain::collection::Collection;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::error::ApiResult;
use crate::extract::{ApiQuery, AuthUser};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LateEntriesQuery {
    /// The unit; default the caller's own. Entries on records at or below it.
    org_unit_id: Option<Uuid>,
}

/// Typed dates waiting for the 组织办's acceptance.
///
/// A confirmation, a search attempt or a receipt typed earlier than the day it reached the
/// server is judged by that day (docs/domain.md §8.15); those whose typed date would change a
/// judgement (补录, or typed before a deadline and reaching the server after it) wait here until
/// the 组织办 accepts the typed date by writing the entry's `accept_field` (`true`) through the
/// push, which the change log records.
#[utoipa::path(
    get, path = "/v1/late-entries", tag = "status",
    params(LateEntriesQuery),
    responses(
        (status = 200, description = "The entries waiting", body = paicha_domain::api::v1::LateEntryList),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "The caller may not read member data", body = ErrorBody),
        (status = 404, description = "No such unit in the caller's scope", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn late_entries(
    State(state): State<AppState>,
    AuthUser(principal): AuthUser,
    ApiQuery(query): ApiQuery<LateEntriesQuery>,
) -> ApiResult<Json<paicha_domain::api::v1::LateEntryList>> {
    use paicha_domain::api::v1::{LateEntry, LateEntryList};
    let (_, target) = crate::access::data_target(&state, &principal, query.org_unit_id).await?;
    let path = target.path.clone();
    let found = state
        .facts
        .read(&state.store, target.tenant_id, |facts| {
            facts
                .plan()
                .map(|plan| (plan, facts.awaiting_acceptance(&path, &plan)))
        })
        .await?;
    let Some((plan, waiting)) = found else {
        return Ok(Json(LateEntryList { entries: vec![] }));
    };
    let scope = crate::access::scope(&target);
    let mut entries = Vec::with_capacity(waiting.len());
    for (collection, id, entry) in waiting {
        let Some(t) = paicha_domain::entry::typed(collection) else {
            continue;
        };
        let Some(row) = state
            .store
            .record(collection, id)
            .await?
            .filter(|r| !r.deleted && scope.sees(r.place()))
        else {
            continue;
        };
        let (Some(typed_on), Some(entered_on)) = (entry.typed, entry.entered) else {
            continue;
        };
        let uuid = |name: &str| {
            row.fields
                .get(name)
                .and_then(Value::as_str)
                .and_then(|s| Uuid::parse_str(s).ok())
        };
        let member_id = match collection {
            Collection::ContactAttempts => match uuid("case_id") {
                Some(case) => state
                    .store
                    .record(Collection::ContactCases, case)
                    .await?
                    .and_then(|c| {
                        c.fields
                            .get("member_id")
                            .and_then(Value::as_str)
                            .and_then(|s| Uuid::parse_str(s).ok())
                    }),
                None => None,
            },
            _ => uuid("member_id"),
        };
        let member_name = match member_id {
            Some(m) => state
                .store
                .record(Collection::Members, m)
                .await?
                .and_then(|r| {
                    r.fields
                        .get("name")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                }),
            None => row
                .fields
                .get("member_name")
                .and_then(Value::as_str)
                .map(str::to_owned),
        };
        let unit_name = state
            .store
            .org_unit(row.org_unit_id)
            .await?
            .map(|u| u.name)
            .unwrap_or_default();
        let schema = collection.schema();
        entries.push(LateEntry {
            collection: collection.as_str().to_owned(),
            collection_zh: schema.label_zh.to_owned(),
            record_id: id,
            org_unit_id: row.org_unit_id.uuid(),
            unit_name,
            version: row.version,
            member_id,
            member_name,
            field: t.field.to_owned(),
            field_zh: schema
                .field(t.field)
                .map_or(t.field, |f| f.label_zh)
                .to_owned(),
            accept_field: t.accepted.to_owned(),
            typed_on,
            entered_on,
            late_entry: entry.late,
            deadline: plan.window(t.phase).1,
        });
    }
    Ok(Json(LateEntryList { entries }))
}
