// 总览: where the campaign stands for one unit — its phases against the deadlines, the headline
// counts, and each child unit's progress in a sortable table that drills down the tree.

import { html, useState, useEffect, useMemo } from '../core/ui.js';
import { api } from '../core/api.js';
import { onChange } from '../core/live.js';
import { COUNT, KIND, MSG, PHASE_STATE } from '../core/messages.js';
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

const COLUMNS = [
  { key: 'name', label: '单位', text: true },
  { key: 'members', label: COUNT.members_total },
  { key: 'verifiedRatio', label: '已核查' },
  { key: 'formsRatio', label: '采集表完整' },
  { key: 'foundRatio', label: '失联找回' },
  { key: 'noReceipt', label: COUNT.transfers_without_receipt },
  { key: 'overdue', label: COUNT.overdue },
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
  return state;
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
              <span class="chip ${p.state}">${p.state_zh || PHASE_STATE[p.state]}</span>
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
    ['found', number(p.found), `查找案件 ${number(counts.contact_cases)}`],
    ['transfers_without_receipt', number(counts.transfers_without_receipt), `转出 ${number(counts.transfers)}`],
    ['overdue', number(counts.overdue), ''],
  ];
  return html`
    <section class="headline" aria-label="主要数字">
      ${cards.map(
        ([key, value, note]) => html`
          <div class="stat ${key === 'overdue' && counts.overdue > 0 ? 'alert' : ''}" data-count=${key}>
            <div class="stat-label">${COUNT[key]}</div>
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
            ${COLUMNS.map(
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
                  <span class="muted kind">${KIND[r.kind]}</span>
                </th>
                <${Cell} value=${r.members} />
                <${Cell} ratioOf=${[r.verified, r.members]} />
                <${Cell} ratioOf=${[r.forms, r.members]} />
                <${Cell} ratioOf=${[r.found, r.cases]} />
                <${Cell} value=${r.noReceipt} />
                <td class="num ${r.overdue > 0 ? 'bad' : ''}">${number(r.overdue)}</td>
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
                  <td class="ledger-status">${l.status ? SUBMISSION_STATUS[l.status] || l.status : '未报送'}</td>
                  <td>${date(l.received_on) || '—'}</td>
                  <td><span class="chip ${l.state}">${l.state_zh || PHASE_STATE[l.state]}</span></td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
    </section>`;
}

export function Overview({ unitId }) {
  const { status, units, error, loading } = useStatus(unitId);
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
  }));
  const today = status.as_of || chinaToday();
  return html`
    <div class="overview ${loading ? 'refreshing' : ''}">
      <${Breadcrumb} units=${units} unitId=${status.org_unit_id} />
      <div class="title-row">
        <h1>${status.name} <span class="muted kind">${KIND[status.kind]}</span></h1>
        <button class="btn small no-print" onClick=${() => print()}>打印</button>
      </div>
      <${Headline} counts=${status.counts} />
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
