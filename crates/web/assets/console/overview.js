// 总览: where the campaign stands for one unit — its phases against the deadlines, the headline
// counts, and each child unit's progress in a sortable table that drills down the tree.

import { html, useState, useEffect, useMemo } from '../core/ui.js';
import { api } from '../core/api.js';
import { onChange } from '../core/live.js';
import { MSG } from '../core/messages.js';
import { words } from '../core/words.js';
import { chinaToday, date, number, percent, ratio, shortDate } from '../core/format.js';
import { Charts } from './charts.js';

const sum = (map) => Object.values(map || {}).reduce((a, b) => a + b, 0);

/** The figures of one unit's row, from its §10 counts. */
export function progress(counts) {
  const found = sum(counts.found_by_method);
  return {
    members: counts.members_total,
    verified: counts.verified,
    verifiedRatio: ratio(counts.verified, counts.members_total),
    forms: counts.info_forms_complete,
    formsRatio: ratio(counts.info_forms_complete, counts.members_total),
    found,
    cases: counts.contact_cases,
    foundRatio: ratio(found, counts.contact_cases),
    noReceipt: counts.transfers_without_receipt,
    overdue: counts.overdue,
  };
}

/** Who freezes the baseline (docs/protocol.md §12.9). */
const FREEZERS = ['org_office', 'committee_admin'];

/** The units below with members still unverified (status.children): what must be done before
 * the numbers at the start are fixed. */
function unfinished(status) {
  return (status.children || [])
    .map((c) => ({ name: c.name, left: (c.counts.roster || {}).unverified || 0 }))
    .filter((c) => c.left > 0);
}

/** The campaign's baseline (排查底数, docs/domain.md §8.9): fixed on a day, or provisional, with
 * the 组织办's button to fix it. The numbers at the start are judged from the facts dated before
 * the start whenever they are recorded, so fixing early does not lose them; the card says which
 * units below have not finished verifying. */
function Baseline({ status, role, onDone }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const c = status.counts;
  const on = status.plan?.baseline_on;
  if (!status.plan) return null;
  const open = unfinished(status);
  async function freeze() {
    const pending = open.length ? `仍有${number(open.length)}个下级单位有党员未核查。` : '';
    if (!confirm(`${pending}确定后，“排查开始时在册”的党员名单即告确定，此后新登记的党员列为新增；各人排查开始时的失联、流动情况仍按核实的排查开始前情况计算。确定排查底数？`)) return;
    setBusy(true);
    setError('');
    try {
      await api.post(`/v1/campaigns/${status.campaign_id}/baseline`);
      onDone();
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  }
  const progress = open.length
    ? html`<p class="warn-text" data-unfinished=${open.length}>尚未核查完毕：${open.map((u, i) => html`${i ? '、' : ''}${u.name}（未核查${number(u.left)}人）`)}。</p>`
    : html`<p class="muted" data-unfinished="0">下级单位的党员均已核查。</p>`;
  return html`
    <section class="card baseline" data-baseline=${on ? 'frozen' : 'provisional'}>
      <h2>排查底数</h2>
      ${on
        ? html`<p>已于${date(on)}确定：排查开始时在册<strong>${number(c.roster_at_start)}</strong>人，其中失联<strong>${number(c.lost_contact_at_start)}</strong>人（现已找到${number(c.lost_at_start_found)}人）、流动<strong>${number(c.mobile_at_start)}</strong>人；确定后新增登记${number(c.added_after_start)}人${c.baseline_corrections ? `，更正${number(c.baseline_corrections)}人` : ''}。</p>`
        : html`<p class="warn-text">尚未确定：“排查开始时”的数字按现有花名册和已核实的排查开始前情况临时计算。各党支部核查完毕后，请组织办确定排查底数。</p>
            ${progress}
            ${FREEZERS.includes(role) && status.campaign_id && html`<button class="btn primary" id="freeze-baseline" disabled=${busy} onClick=${freeze}>确定排查底数</button>`}`}
      ${error && html`<p class="error-text" role="alert">${error}</p>`}
    </section>`;
}

const RECONCILIATION_CLASS = { balanced: 'on_time', explained: 'late', missing: 'open', flagged: 'missing' };

/** The roster against the villages' and communities' actual count (村居实际底数, §8.10). */
function Reconciliation({ r }) {
  if (!r) return null;
  const signed = (n) => (n > 0 ? `+${number(n)}` : number(n));
  return html`
    <section class="card reconciliation" data-reconciliation=${r.state}>
      <h2>底数核对 <span class="chip ${RECONCILIATION_CLASS[r.state] || ''}">${r.state_zh}</span></h2>
      <p>排查开始时在册${number(r.roster_at_start)}人 + 台帐A ${number(r.ledger_a_additions)}人 − 台帐B ${number(r.ledger_b_removals)}人 = 应为<strong>${number(r.expected)}</strong>人；村（社区）实际<strong>${r.actual == null ? '未填报' : `${number(r.actual)}人`}</strong>${r.difference ? `，相差${signed(r.difference)}人` : ''}。</p>
      <p class="muted small">共${number(r.branches)}个党支部：已填报${number(r.branches_recorded)}个，未填报${number(r.branches_missing)}个；有差异已说明${number(r.branches_explained)}个，未说明${number(r.branches_unexplained)}个。</p>
    </section>`;
}

/** The table's columns, their labels from the server's words. */
const columns = () => [
  { key: 'name', label: '单位', text: true },
  { key: 'members', label: words().count('members_total') },
  { key: 'verifiedRatio', label: '已核查' },
  { key: 'formsRatio', label: '采集表完整' },
  { key: 'foundRatio', label: '失联找回' },
  { key: 'noReceipt', label: words().count('transfers_without_receipt') },
  { key: 'overdue', label: words().count('overdue') },
  { key: 'reconciliation', label: '底数核对', text: true },
];

function useStatus(unitId) {
  const [state, setState] = useState({ loading: true });
  const [attempt, setAttempt] = useState(0);
  // Re-read when anything in scope changes (a device's push, an approval in another office).
  useEffect(() => {
    let timer;
    const off = onChange(() => {
      clearTimeout(timer);
      timer = setTimeout(() => setAttempt((n) => n + 1), 150);
    });
    return () => {
      off();
      clearTimeout(timer);
    };
  }, []);
  useEffect(() => {
    let alive = true;
    let retry;
    setState((s) => ({ ...s, loading: true }));
    Promise.all([
      api.get('/v1/status', { org_unit_id: unitId }),
      api.get('/v1/org-units'),
    ]).then(
      ([status, units]) => alive && setState({ status, units: units.org_units }),
      (error) => {
        if (!alive) return;
        setState((s) => ({ ...s, loading: false, error }));
        // The server is away: try again by itself until it answers.
        if (error.code === 'unreachable' || error.code === 'timeout') {
          retry = setTimeout(() => setAttempt((n) => n + 1), 3000);
        }
      },
    );
    return () => {
      alive = false;
      clearTimeout(retry);
    };
  }, [unitId, attempt]);
  return { ...state, reload: () => setAttempt((n) => n + 1) };
}

function Breadcrumb({ units, unitId }) {
  const byId = new Map((units || []).map((u) => [u.id, u]));
  const trail = [];
  for (let u = byId.get(unitId); u; u = byId.get(u.parent_id)) trail.unshift(u);
  return html`
    <nav class="crumbs" aria-label="所在位置">
      ${trail.map((u, i) =>
        i === trail.length - 1
          ? html`<span aria-current="page">${u.name}</span>`
          : html`<a href="#/overview/${u.id}">${u.name}</a><span class="sep" aria-hidden="true">›</span>`,
      )}
    </nav>`;
}

function Phases({ phases, today }) {
  if (!phases.length) return html`<p class="muted">${MSG.no_campaign}</p>`;
  const start = Math.min(...phases.map((p) => Date.parse(p.starts_on)));
  const end = Math.max(...phases.map((p) => Date.parse(p.deadline))) + 86400000;
  const at = (d) => `${(100 * (Date.parse(d) - start)) / (end - start)}%`;
  const span = (p) => `${(100 * (Date.parse(p.deadline) + 86400000 - Date.parse(p.starts_on))) / (end - start)}%`;
  const t = Date.parse(today);
  const todayInside = t >= start && t < end;
  return html`
    <ol class="gantt" aria-label="排查阶段">
      ${phases.map(
        (p) => html`
          <li class="phase" data-phase=${p.phase}>
            <div class="phase-name">${p.label_zh}</div>
            <div class="track">
              <div class="bar ${p.state}" style=${{ left: at(p.starts_on), width: span(p) }}></div>
              ${todayInside && html`<div class="today" style=${{ left: at(today) }} aria-hidden="true"></div>`}
            </div>
            <div class="phase-meta">
              <span class="chip ${p.state}">${p.state_zh || words().phaseState(p.state)}</span>
              <span class="muted">${shortDate(p.starts_on)}–${shortDate(p.deadline)}</span>
              ${p.items > 0 && html`<span class="muted">完成 ${number(p.on_time + p.late)}/${number(p.items)}</span>`}
            </div>
          </li>`,
      )}
    </ol>
    <p class="muted small">今天：${date(today)}${todayInside ? '（竖线所示）' : ''}</p>`;
}

function Headline({ counts }) {
  const p = progress(counts);
  const cards = [
    ['members_total', number(counts.members_total), ''],
    ['verified', number(counts.verified), percent(counts.verified, counts.members_total)],
    ['info_forms_complete', number(counts.info_forms_complete), percent(counts.info_forms_complete, counts.members_total)],
    ['lost_contact_at_start', number(counts.lost_contact_at_start), ''],
    ['found', number(p.found), `查找记录 ${number(counts.contact_cases)}`],
    ['transfers_without_receipt', number(counts.transfers_without_receipt), `转出 ${number(counts.transfers)}`],
    ['overdue', number(counts.overdue), ''],
  ];
  return html`
    <section class="headline" aria-label="主要数字">
      ${cards.map(
        ([key, value, note]) => html`
          <div class="stat ${key === 'overdue' && counts.overdue > 0 ? 'alert' : ''}" data-count=${key}>
            <div class="stat-label">${key === 'found' ? '已取得联系' : words().count(key)}</div>
            <div class="stat-value">${value}</div>
            ${note && html`<div class="stat-note muted">${note}</div>`}
          </div>`,
      )}
    </section>`;
}

function Cell({ value, ratioOf }) {
  if (ratioOf) {
    const [part, whole] = ratioOf;
    const r = whole ? part / whole : 0;
    return html`<td class="num">
      <span class="pct">${percent(part, whole)}</span>
      <span class="meter" aria-hidden="true"><span style=${{ width: `${Math.round(r * 100)}%` }}></span></span>
    </td>`;
  }
  return html`<td class="num">${number(value)}</td>`;
}

function UnitTable({ rows }) {
  const [sort, setSort] = useState({ key: 'name', dir: 1 });
  const sorted = useMemo(() => {
    const out = [...rows];
    out.sort((a, b) => {
      const x = a[sort.key];
      const y = b[sort.key];
      const c = typeof x === 'string' ? x.localeCompare(y, 'zh-CN') : x - y;
      return c * sort.dir;
    });
    return out;
  }, [rows, sort]);
  const by = (key) => setSort((s) => ({ key, dir: s.key === key ? -s.dir : key === 'name' ? 1 : -1 }));
  if (!rows.length) return html`<p class="muted">${MSG.empty_children}</p>`;
  return html`
    <div class="table-wrap">
      <table class="grid units">
        <thead>
          <tr>
            ${columns().map(
              (c) => html`<th scope="col" class=${c.text ? '' : 'num'}
                  aria-sort=${sort.key === c.key ? (sort.dir > 0 ? 'ascending' : 'descending') : 'none'}>
                <button class="sort" onClick=${() => by(c.key)}>${c.label}
                  <span aria-hidden="true">${sort.key === c.key ? (sort.dir > 0 ? '▲' : '▼') : ''}</span>
                </button>
              </th>`,
            )}
          </tr>
        </thead>
        <tbody>
          ${sorted.map(
            (r) => html`
              <tr data-unit=${r.id}>
                <th scope="row">
                  <a href="#/overview/${r.id}">${r.name}</a>
                  <span class="muted kind">${words().kind(r.kind)}</span>
                </th>
                <${Cell} value=${r.members} />
                <${Cell} ratioOf=${[r.verified, r.members]} />
                <${Cell} ratioOf=${[r.forms, r.members]} />
                <${Cell} ratioOf=${[r.found, r.cases]} />
                <${Cell} value=${r.noReceipt} />
                <td class="num ${r.overdue > 0 ? 'bad' : ''}">${number(r.overdue)}</td>
                <td>${r.reconciliationZh ? html`<span class="chip ${RECONCILIATION_CLASS[r.reconciliation] || ''}">${r.reconciliationZh}</span>` : '—'}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
}

const LEDGER_NAME = { ledger_a: '台帐A', ledger_b: '台帐B' };
const SUBMISSION_STATUS = {
  draft: '草稿',
  submitted: '已报送，待审核',
  returned: '已退回',
  approved: '审核通过',
};

function Ledgers({ submissions }) {
  if (!submissions.length) return null;
  return html`
    <section class="card">
      <h2>台帐报送</h2>
      <div class="table-wrap">
        <table class="grid ledgers">
          <thead><tr><th scope="col">工作区</th><th scope="col">台帐</th><th scope="col">报送状态</th>
            <th scope="col">组织办收到</th><th scope="col">按期情况</th></tr></thead>
          <tbody>
            ${submissions.map(
              (l) => html`
                <tr data-ledger="${l.work_area_id}-${l.ledger}">
                  <th scope="row">${l.work_area_name}</th>
                  <td>${LEDGER_NAME[l.ledger] || l.ledger}</td>
                  <td class="ledger-status">${l.status ? SUBMISSION_STATUS[l.status] || words().display('ledger_submissions', 'status', l.status) : '未报送'}</td>
                  <td>${date(l.received_on) || '—'}</td>
                  <td><span class="chip ${l.state}">${l.state_zh || words().phaseState(l.state)}</span></td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
    </section>`;
}

export function Overview({ unitId, role }) {
  const { status, units, error, loading, reload } = useStatus(unitId);
  if (!status) {
    if (error && error.code !== 'unreachable' && error.code !== 'timeout') {
      return html`<div class="card error-text" role="alert">${error.message}</div>`;
    }
    return html`<p class="boot">${MSG.loading}</p>`;
  }
  const rows = status.children.map((c) => ({
    id: c.org_unit_id,
    name: c.name,
    kind: c.kind,
    ...progress(c.counts),
    reconciliation: c.reconciliation?.state ?? '',
    reconciliationZh: c.reconciliation?.state_zh ?? '',
  }));
  const today = status.as_of || chinaToday();
  return html`
    <div class="overview ${loading ? 'refreshing' : ''}">
      <${Breadcrumb} units=${units} unitId=${status.org_unit_id} />
      <div class="title-row">
        <h1>${status.name} <span class="muted kind">${words().kind(status.kind)}</span></h1>
        <button class="btn small no-print" onClick=${() => print()}>打印</button>
      </div>
      <${Headline} counts=${status.counts} />
      <${Baseline} status=${status} role=${role} onDone=${reload} />
      <${Reconciliation} r=${status.reconciliation} />
      <section class="card">
        <h2>排查进度</h2>
        <${Phases} phases=${status.phases} today=${today} />
      </section>
      <${Charts} counts=${status.counts} phases=${status.phases} />
      <${Ledgers} submissions=${status.ledger_submissions || []} />
      <section class="card">
        <h2>下级单位进度</h2>
        <${UnitTable} rows=${rows} />
      </section>
    </div>`;
}
