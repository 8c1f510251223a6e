//! A member's move to another branch of the tenant (`paicha_domain::moves`, docs/domain.md
//! §6.7), as a push plans it: which step a write takes, and, once the receiving branch accepts,
//! the move of the member's records with him. Every record that leaves a unit is noted
//! ([`Batch::leave`]), so the old branch's devices drop it and its people are told.

use paicha_domain::collection::{Collection, FieldType};
use paicha_domain::moves::{self, MoveStep, MoveWriter};
use paicha_storage::{OrgUnitRecord, RecordRow};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::batch::{Batch, Op, server_mutation};
use super::plan::{Planning, Stop};
use super::read::Reader;
use super::reject::Rejection;
use crate::SyncError;
use paicha_domain::api::v1::Mutation;

/// The step of a member's move a write to `row` takes, checked against who writes
/// ([`moves::check_member_move`]), with what the server then writes added to `changed`.
pub(super) fn step<R: Reader>(
    batch: &Batch<'_, R>,
    row: &RecordRow,
    changed: &mut Map<String, Value>,
) -> Planning<Option<MoveStep>> {
    if row.collection != Collection::Members {
        return Ok(None);
    }
    let scope = batch.writer.scope();
    let writer = MoveWriter {
        holds_member: scope.covers(&row.owner_path),
        is_receiver: row.addressee_path.as_deref() == Some(scope.path()),
    };
    let holder = row.org_unit_id.to_string();
    let step = moves::check_member_move(&row.fields, changed, &holder, writer)
        .map_err(|e| Stop::Refused(Rejection::Rule(e)))?;
    if let Some(step) = step {
        let today = paicha_domain::calendar::china_date(batch.now);
        for (k, v) in moves::settle_move(step, &row.fields, &holder, today) {
            if row.fields.get(&k).unwrap_or(&Value::Null) != &v {
                changed.insert(k, v);
            }
        }
    }
    Ok(step)
}

/// The collections whose records belong to a member's branch and name him (`member_id`), and
/// those that name one of those (a search attempt its case): they move with him.
fn following(by: Collection) -> impl Iterator<Item = (Collection, &'static str)> {
    Collection::ALL.into_iter().filter_map(move |c| {
        let schema = c.schema();
        if !schema
            .owner_kinds
            .contains(&paicha_domain::org::OrgUnitKind::Branch)
        {
            return None;
        }
        schema
            .fields
            .iter()
            .find(|f| matches!(f.ty, FieldType::Ref(c) if c == by))
            .map(|f| (c, f.name))
    })
}

/// Moves the records of the member `member` (moved to `to`) that his old branch (`from_path`)
/// held, and theirs, to `to`: each gets a new version, an audit entry naming the move, its
/// photos' references at the new place, and a departure from the old branch.
pub(super) async fn move_records_of<R: Reader>(
    batch: &mut Batch<'_, R>,
    member: &RecordRow,
    from_path: &str,
    to: &OrgUnitRecord,
    m: &Mutation,
) -> Result<(), SyncError> {
    let label = moves::label_of(member.collection, &member.fields).map(str::to_owned);
    let mut parents = vec![(Collection::Members, member.id)];
    while let Some((by, id)) = parents.pop() {
        for (collection, field) in following(by) {
            let rows = batch.referring(collection, field, id).await?;
            for row in rows {
                if row.owner_path != from_path {
                    continue;
                }
                parents.push((collection, row.id));
                relocate(batch, row, to, label.as_deref(), m);
            }
        }
    }
    Ok(())
}

/// Moves one record to `to` as the server.
fn relocate<R: Reader>(
    batch: &mut Batch<'_, R>,
    before: RecordRow,
    to: &OrgUnitRecord,
    label: Option<&str>,
    m: &Mutation,
) {
    let mut row = before.clone();
    row.org_unit_id = to.id;
    row.owner_path = to.path.clone();
    row.version = batch.next_version();
    row.updated_at = batch.now;
    row.updated_by = batch.writer.user_id;
    row.device_id = Some(batch.writer.device_id.to_owned());
    batch.leave_as(&before, &row, "member_moved", label);
    batch.store_row(row.clone(), false);
    batch.follow_ups.push((row.collection, row.id));
    super::plan::blob_refs(batch, row.collection.schema(), &row, None);
    let cause = (m.mutation_id, m.client_time.clone());
    let server_m = server_mutation(cause, row.collection, row.id, Op::Patch, None);
    let changes = json!({"org_unit_id": [before.org_unit_id, row.org_unit_id]});
    batch.append(&row, Op::Patch, &server_m, changes);
}

/// A unit's id as a record's field holds it.
pub(super) fn unit_of(fields: &Map<String, Value>, name: &str) -> Option<Uuid> {
    fields
        .get(name)
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}
