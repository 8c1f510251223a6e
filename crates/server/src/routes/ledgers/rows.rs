//! A register's rows, produced a page at a time: those of a register over members (花名册,
//! 流动党员登记册) read from the database a page at a time in the register's order, the others
//! assembled in memory first (their records are a campaign's cases and ledger entries).

use std::collections::{BTreeMap, HashMap, VecDeque};

use paicha_domain::collection::Collection;
use paicha_domain::ids::UnitId;
use paicha_domain::ledger::{LedgerKind, Selection, Source, display_zh};
use paicha_domain::privacy::View;
use paicha_storage::PageCursor;

use super::Fields;
use crate::error::ApiResult;
use crate::state::AppState;

/// Records read from the database at a time, and rows handed on at a time.
pub(super) const PAGE: usize = 1000;

/// The names a row prints for its unit: the 党支部 (the unit holding the record) and the
/// 工作区 above it.
pub(super) struct Places {
    /// The name of every unit of the subtree.
    pub units: HashMap<UnitId, String>,
    /// Every unit of the subtree and above it: its parent.
    pub parents: HashMap<UnitId, Option<UnitId>>,
    /// … and its kind and name.
    pub kinds: HashMap<UnitId, (paicha_domain::org::OrgUnitKind, String)>,
}

impl Places {
    /// The 工作区 of a unit: itself or its nearest ancestor of that kind (the work area's name
    /// also when it lies above the unit exported, as for a branch's own register).
    pub fn work_area_of(&self, unit: UnitId) -> String {
        let mut at = Some(unit);
        while let Some(id) = at {
            if let Some((paicha_domain::org::OrgUnitKind::WorkArea, name)) = self.kinds.get(&id) {
                return name.clone();
            }
            at = self.parents.get(&id).copied().flatten();
        }
        String::new()
    }

    pub fn unit_name(&self, unit: UnitId) -> String {
        self.units.get(&unit).cloned().unwrap_or_default()
    }
}

/// Whether a record is one the register holds (its selection).
pub(super) fn selected(kind: LedgerKind, fields: &Fields) -> bool {
    let value = |field: &str| fields.get(field).and_then(|v| v.as_str());
    match kind.selection() {
        Selection::Where(_, field, want) => value(field) == Some(want),
        Selection::Except(_, field, unwanted) => value(field) != Some(unwanted),
        Selection::All(_) => true,
    }
}

/// One row of `kind`: its cells in column order.
pub(super) fn row(
    kind: LedgerKind,
    serial: usize,
    work_area: &str,
    branch: &str,
    fields: &Fields,
    member: Option<&Fields>,
) -> Vec<String> {
    kind.columns()
        .iter()
        .map(|(_, source)| match source {
            Source::Serial => serial.to_string(),
            Source::Unit => branch.to_owned(),
            Source::WorkArea => work_area.to_owned(),
            Source::Field(f) => fields.get(*f).map(display_zh).unwrap_or_default(),
            Source::Attachments(f) => paicha_domain::ledger::attachments_zh(fields.get(*f)),
            Source::LostBand(f) => paicha_domain::ledger::lost_band_zh(fields.get(*f)),
            Source::Member(f) => member
                .and_then(|m| m.get(*f))
                .map(display_zh)
                .unwrap_or_default(),
        })
        .collect()
}

/// The rows of a register, in order, a page at a time.
pub(super) enum RowSource {
    /// Rows assembled beforehand.
    Ready(std::vec::IntoIter<Vec<String>>),
    /// A register over members, read as it is written.
    Members(Box<MemberPages>),
}

impl RowSource {
    /// The next rows (at most about a page); none once every row was given.
    pub async fn next(&mut self) -> ApiResult<Option<Vec<Vec<String>>>> {
        match self {
            Self::Ready(rows) => {
                let page: Vec<Vec<String>> = rows.by_ref().take(PAGE).collect();
                Ok((!page.is_empty()).then_some(page))
            }
            Self::Members(pages) => pages.next().await,
        }
    }
}

/// The members of a register over members, read a page at a time: unit by unit in the
/// register's order (by 工作区, then 党支部, each by name), and within the units of one such
/// pair in the order the records came, as the register sorts them. Only a page of records is
/// held at a time; each is read as the caller reads personal data.
pub(super) struct MemberPages {
    state: AppState,
    target: paicha_storage::OrgUnitRecord,
    kind: LedgerKind,
    view: View,
    /// (工作区, 党支部, the units so named) still to read, in order.
    groups: VecDeque<(String, String, Vec<UnitId>)>,
    after: Option<PageCursor>,
    /// Rows given so far (序号 counts on from it).
    given: usize,
}

impl MemberPages {
    pub fn new(
        state: AppState,
        target: paicha_storage::OrgUnitRecord,
        kind: LedgerKind,
        view: View,
        places: &Places,
    ) -> Self {
        let mut groups: BTreeMap<(String, String), Vec<UnitId>> = BTreeMap::new();
        for unit in places.units.keys() {
            groups
                .entry((places.work_area_of(*unit), places.unit_name(*unit)))
                .or_default()
                .push(*unit);
        }
        Self {
            state,
            target,
            kind,
            view,
            groups: groups
                .into_iter()
                .map(|((area, branch), units)| (area, branch, units))
                .collect(),
            after: None,
            given: 0,
        }
    }

    async fn next(&mut self) -> ApiResult<Option<Vec<Vec<String>>>> {
        let scope = crate::access::scope(&self.target);
        loop {
            let Some((area, branch, units)) = self.groups.front() else {
                return Ok(None);
            };
            let (records, after) = self
                .state
                .store
                .live_records_page(
                    scope,
                    Collection::Members,
                    units,
                    self.after.as_ref(),
                    PAGE as u64,
                )
                .await?;
            let mut rows = Vec::with_capacity(records.len());
            for (_, _, mut fields) in records {
                paicha_domain::privacy::project_fields(Collection::Members, &mut fields, self.view);
                if selected(self.kind, &fields) {
                    self.given += 1;
                    rows.push(row(self.kind, self.given, area, branch, &fields, None));
                }
            }
            if after.is_none() {
                self.groups.pop_front();
            }
            self.after = after;
            if !rows.is_empty() {
                return Ok(Some(rows));
            }
        }
    }
}
