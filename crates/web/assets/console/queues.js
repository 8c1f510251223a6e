// 待办: what waits for this user's decision, each item acted on in place through the push (so
// it is validated, audited and synced like any write), or, for conflicts, through the
// conflict log. What the user's role decides:
// - the 组织办: ledger submissions to audit (approve, or return with an opinion), and dates typed
//   earlier than the day they reached the server, to accept (docs/domain.md §8.15);
// - the committee: department searches to carry out and record, dispositions to approve,
//   return or reject, archive reviews to take up and conclude;
// - every reviewer: values overwritten by concurrent edits (sync conflicts) to mark reviewed.

import { html, useState, useEffect } from '../core/ui.js';
import { api } from '../core/api.js';
import { pullAll, patch } from '../core/records.js';
import { onChange } from '../core/live.js';
import { words } from '../core/words.js';
import { chinaToday, date } from '../core/format.js';

/** A record field's value as people read it, from the server's words. */
const show = (collection, field, value) => words().display(collection, field, value);
/** The words of an enum field, with their labels, for a choice. */
const choices = (collection, field) => words().values(collection, field);

const ROLE_QUEUES = {
  org_office: ['ledgers', 'entries', 'conflicts'],
  committee_admin: ['searches', 'dispositions', 'archives', 'conflicts'],
};

/** Which queues a role works on. */
export function queuesOf(role) {
  return ROLE_QUEUES[role] || (['work_area_staff', 'street_staff', 'branch_secretary'].includes(role) ? ['conflicts'] : []);
}

/** Everything waiting for `role`: {ledgers, searches, dispositions, archives, conflicts}. */
export async function loadQueue(role) {
  const wanted = queuesOf(role);
  const out = { ledgers: [], entries: [], searches: [], dispositions: [], archives: [], conflicts: [] };
  if (wanted.length === 0) return out;
  const collections = [];
  if (wanted.includes('ledgers')) collections.push('ledger_submissions');
  if (wanted.includes('searches')) collections.push('department_search_requests', 'contact_cases');
  if (wanted.includes('dispositions')) collections.push('dispositions');
  if (wanted.includes('archives')) collections.push('archive_reviews');
  const [records, units, conflicts, entries] = await Promise.all([
    collections.length ? pullAll(collections) : new Map(),
    api.get('/v1/org-units'),
    wanted.includes('conflicts') ? api.get('/v1/conflicts', { unresolved: true }) : { conflicts: [] },
    wanted.includes('entries') ? api.get('/v1/late-entries') : { entries: [] },
  ]);
  out.entries = entries.entries.map((e) => ({ ...e, id: e.record_id }));
  const unitName = new Map(units.org_units.map((u) => [u.id, u.name]));
  const all = [...records.values()].map((r) => ({ ...r, unitName: unitName.get(r.org_unit_id) || '' }));
  const of = (c, ...states) => all.filter((r) => r.collection === c && states.includes(r.fields.status || ''));
  out.ledgers = of('ledger_submissions', 'submitted');
  out.searches = of('department_search_requests', 'requested', 'in_progress', '');
  out.dispositions = of('dispositions', 'submitted');
  out.archives = of('archive_reviews', 'requested', 'under_review', 'proof_requested', 'county_review', '');
  out.conflicts = conflicts.conflicts.map((c) => ({ ...c, unitName: unitName.get(c.org_unit_id) || '' }));
  // The members the items name, by one request.
  const cases = new Map(all.filter((r) => r.collection === 'contact_cases').map((r) => [r.id, r]));
  const memberOf = (r) => r.fields.member_id || cases.get(r.fields.case_id)?.fields.member_id;
  const ids = [...new Set([...out.searches, ...out.dispositions, ...out.archives].map(memberOf).filter(Boolean))];
  const names = new Map();
  for (let i = 0; i < ids.length; i += 100) {
    const page = await api.get('/v1/members', { ids: ids.slice(i, i + 100).join(','), limit: 200 });
    for (const m of page.members) names.set(m.id, m.name);
  }
  for (const r of [...out.searches, ...out.dispositions, ...out.archives]) r.memberName = names.get(memberOf(r)) || '';
  return out;
}

export function countOf(queue) {
  return Object.values(queue).reduce((n, list) => n + list.length, 0);
}

/** One item: its title, what it says, the inputs it needs and its actions. */
function Item({ id, title, lines, children, error }) {
  return html`
    <li class="card queue-item" data-record=${id}>
      <div>
        <h3>${title}</h3>
        ${lines.filter(Boolean).map((l) => html`<p class="muted small">${l}</p>`)}
      </div>
      ${children}
      ${error && html`<p class="error-text" role="alert" data-error>${error}</p>`}
    </li>`;
}

/** State of an item's form and its one in-flight action. */
function useAction(onDone) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  async function run(fn) {
    setBusy(true);
    setError('');
    try {
      await fn();
      onDone();
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  }
  return { busy, error, run };
}

function Ledger({ item, onDone }) {
  const [opinion, setOpinion] = useState('');
  const { busy, error, run } = useAction(onDone);
  const act = (status) =>
    run(() => {
      const fields = { status, audited_on: chinaToday() };
      if (opinion.trim()) fields.audit_opinion = opinion.trim();
      return patch(item, fields);
    });
  const f = item.fields;
  return html`
    <${Item} id=${item.id} title="${item.unitName} · ${show('ledger_submissions', 'ledger', f.ledger)}${f.supplementary ? ' · 补报' : ''}" error=${error}
      lines=${[
        `组织办收到：${date(f.received_on) || '—'}　报送条目：${f.submitted_entries ?? f.entry_count ?? '—'}`,
        f.reopened_on && `${date(f.reopened_on)}重新打开：${f.reopen_reason || ''}`,
      ]}>
      <div class="queue-actions">
        <label class="sr-only" for="opinion-${item.id}">审核意见</label>
        <input id="opinion-${item.id}" class="opinion" placeholder="审核意见（退回时必填）"
          value=${opinion} onInput=${(e) => setOpinion(e.target.value)} />
        <button class="btn primary" data-action="approve" disabled=${busy} onClick=${() => act('approved')}>审核通过</button>
        <button class="btn" data-action="return" disabled=${busy} onClick=${() => act('returned')}>退回</button>
      </div>
    <//>`;
}

function Search({ item, onDone }) {
  const [executed, setExecuted] = useState(chinaToday());
  const [result, setResult] = useState('');
  const [detail, setDetail] = useState('');
  const [contact, setContact] = useState('');
  const { busy, error, run } = useAction(onDone);
  const f = item.fields;
  const record = () =>
    run(() => {
      const fields = { status: 'done', executed_on: executed };
      if (result) fields.result = result;
      if (detail.trim()) fields.result_detail = detail.trim();
      if (contact.trim()) fields.contact_obtained = contact.trim();
      return patch(item, fields);
    });
  return html`
    <${Item} id=${item.id} title="${item.unitName} · ${item.memberName || '失联党员'} · 部门查找申请" error=${error}
      lines=${[
        `申请日期：${date(f.requested_on) || '—'}　申请查找部门：${show('department_search_requests', 'departments', f.departments || []) || '—'}`,
        f.request_note && `申请说明：${f.request_note}`,
        f.status === 'in_progress' && '办理中',
      ]}>
      <div class="queue-form">
        <div class="field"><label for="executed-${item.id}">查找日期</label>
          <input id="executed-${item.id}" type="date" value=${executed} onInput=${(e) => setExecuted(e.target.value)} /></div>
        <div class="field"><label for="result-${item.id}">查找结果</label>
          <select id="result-${item.id}" value=${result} onChange=${(e) => setResult(e.target.value)}>
            <option value="">请选择</option>
            ${choices('department_search_requests', 'result').map((c) => html`<option value=${c.value}>${c.label}</option>`)}
          </select></div>
        <div class="field"><label for="detail-${item.id}">查找情况</label>
          <input id="detail-${item.id}" value=${detail} maxlength="1000" onInput=${(e) => setDetail(e.target.value)} /></div>
        <div class="field"><label for="contact-${item.id}">获得的联系方式</label>
          <input id="contact-${item.id}" value=${contact} maxlength="500" onInput=${(e) => setContact(e.target.value)} /></div>
      </div>
      <div class="queue-actions">
        <button class="btn primary" data-action="record" disabled=${busy} onClick=${record}>记录查找结果</button>
        ${f.status !== 'in_progress' &&
        html`<button class="btn" data-action="start" disabled=${busy} onClick=${() => run(() => patch(item, { status: 'in_progress' }))}>开始办理</button>`}
      </div>
    <//>`;
}

function Disposition({ item, onDone }) {
  const [opinion, setOpinion] = useState('');
  const { busy, error, run } = useAction(onDone);
  const f = item.fields;
  const act = (status) =>
    run(() => {
      const fields = { status };
      if (status === 'approved') fields.approved_on = chinaToday();
      if (opinion.trim()) fields.approval_opinion = opinion.trim();
      return patch(item, fields);
    });
  return html`
    <${Item} id=${item.id} title="${item.unitName} · ${item.memberName || ''} · ${show('dispositions', 'disposition_type', f.disposition_type)}" error=${error}
      lines=${[
        f.needs_committee_decision && words().label('dispositions', 'needs_committee_decision'),
        f.basis && `处置依据：${f.basis}`,
        `支部大会：${date(f.branch_meeting_on) || '—'}${f.branch_meeting_vote ? `（${f.branch_meeting_vote}）` : ''}`,
      ]}>
      <div class="queue-actions">
        <label class="sr-only" for="approval-${item.id}">审批意见</label>
        <input id="approval-${item.id}" class="opinion" placeholder="审批意见（退回、不予批准时必填）"
          value=${opinion} onInput=${(e) => setOpinion(e.target.value)} />
        <button class="btn primary" data-action="approve" disabled=${busy} onClick=${() => act('approved')}>批准</button>
        <button class="btn" data-action="return" disabled=${busy} onClick=${() => act('returned')}>退回</button>
        <button class="btn" data-action="reject" disabled=${busy} onClick=${() => act('rejected')}>不予批准</button>
      </div>
    <//>`;
}

function Archive({ item, onDone }) {
  const f = item.fields;
  // The branch's decision to treat the member by reference is the ground the committee confirms.
  const [exemption, setExemption] = useState(f.exemption_overruled ? '' : f.branch_exemption || '');
  const { busy, error, run } = useAction(onDone);
  const status = f.status || 'requested';
  const to = (next, extra = {}) => run(() => patch(item, { status: next, ...extra }));
  const steps = {
    requested: [['under_review', '开始审核', true]],
    under_review: [
      ['confirmed', '审核确认', true],
      ['exempt_confirmed', '确认免于补办', false],
      ['proof_requested', '需补充证明材料', false],
      ['not_recognized', '不予认定', false],
    ],
    proof_requested: [['county_review', '报县级组织部门审核', true]],
    county_review: [
      ['confirmed', '审核确认', true],
      ['not_recognized', '不予认定', false],
    ],
  }[status] || [];
  return html`
    <${Item} id=${item.id} title="${item.unitName} · ${item.memberName || ''} · 档案审核" error=${error}
      lines=${[
        `申请原因：${show('archive_reviews', 'reason', f.reason) || '—'}　申请日期：${date(f.requested_on) || '—'}`,
        f.request_note && `申请说明：${f.request_note}`,
        f.branch_exemption &&
          `支部决定参照处理：${show('archive_reviews', 'branch_exemption', f.branch_exemption)}${f.branch_exemption_note ? `（${f.branch_exemption_note}）` : ''}${f.exemption_overruled ? '　党工委不同意' : ''}`,
        show('archive_reviews', 'status', status),
      ]}>
      ${status === 'under_review' &&
      html`<div class="queue-form"><div class="field">
        <label for="exemption-${item.id}">免于补办依据（确认免于补办时必填）</label>
        <select id="exemption-${item.id}" value=${exemption} onChange=${(e) => setExemption(e.target.value)}>
          <option value="">请选择</option>
          ${choices('archive_reviews', 'exemption').map((c) => html`<option value=${c.value}>${c.label}</option>`)}
        </select></div></div>`}
      <div class="queue-actions">
        ${steps.map(
          ([next, label, primary]) => html`<button class="btn ${primary ? 'primary' : ''}" data-action=${next} disabled=${busy}
            onClick=${() => to(next, next === 'exempt_confirmed' && exemption ? { exemption } : {})}>${label}</button>`,
        )}
      </div>
    <//>`;
}

function Conflict({ item, onDone }) {
  const { busy, error, run } = useAction(onDone);
  const label = words().label(item.collection || 'members', item.field);
  const v = (x) =>
    x === null || x === undefined || x === '' ? '（空）' : typeof x === 'object' && !Array.isArray(x) ? '（已修改）' : show(item.collection, item.field, x);
  return html`
    <${Item} id=${item.id} title="${item.unitName} · 「${label}」被同时修改" error=${error}
      lines=${[`被覆盖的值：${v(item.overwritten_value)}　保留的值：${v(item.winning_value)}`,
        `时间：${new Date(item.created_at).toLocaleString('zh-CN', { hour12: false })}`]}>
      <div class="queue-actions">
        <button class="btn primary" data-action="resolve" disabled=${busy}
          onClick=${() => run(() => api.post(`/v1/conflicts/${item.id}/resolve`))}>标记已复核</button>
      </div>
    <//>`;
}

/** A date typed earlier than the day it reached the server: the server's day judges it until
 * the 组织办 accepts the typed one (docs/domain.md §8.15). */
function Entry({ item, onDone }) {
  const { busy, error, run } = useAction(onDone);
  const accept = () =>
    run(() =>
      patch({ collection: item.collection, id: item.record_id, version: item.version }, { [item.accept_field]: true }),
    );
  return html`
    <${Item} id=${item.id} title="${item.unit_name} · ${item.member_name || ''} · ${item.collection_zh}${item.late_entry ? '（补录）' : ''}" error=${error}
      lines=${[
        `${item.field_zh}：${date(item.typed_on)}　录入系统：${date(item.entered_on)}　期限：${date(item.deadline)}`,
        `未认可前按录入系统的日期计算是否按期；认可后按${item.field_zh}计算。`,
      ]}>
      <div class="queue-actions">
        <button class="btn primary" data-action="accept" disabled=${busy} onClick=${accept}>认可${item.field_zh}</button>
      </div>
    <//>`;
}

const SECTIONS = [
  ['ledgers', '待审核的台帐报送', Ledger, '没有待审核的台帐报送。'],
  ['entries', '待认可的补录日期', Entry, '没有待认可的补录日期。'],
  ['searches', '部门查找申请', Search, '没有待办理的部门查找申请。'],
  ['dispositions', '待审批的处置', Disposition, '没有待审批的处置。'],
  ['archives', '档案审核', Archive, '没有待审核的档案。'],
  ['conflicts', '同步冲突（同一字段被同时修改）', Conflict, '没有待复核的冲突。'],
];

export function Queues({ role }) {
  const [queue, setQueue] = useState(null);
  const [error, setError] = useState('');
  const [round, setRound] = useState(0);
  useEffect(() => onChange(() => setRound((n) => n + 1)), []);
  useEffect(() => {
    let alive = true;
    loadQueue(role).then(
      (q) => alive && setQueue(q),
      (e) => alive && setError(e.message),
    );
    return () => {
      alive = false;
    };
  }, [round, role]);
  const mine = queuesOf(role);
  const done = () => {
    setRound((n) => n + 1);
    // The badge re-counts too (a conflict marked reviewed is no change the feed announces).
    dispatchEvent(new Event('paicha:queue'));
  };
  return html`
    <div class="queues">
      <h1>待办</h1>
      ${mine.length === 0 && html`<p class="card muted">您的角色没有需要审批或办理的事项。</p>`}
      ${error && html`<p class="card error-text" role="alert">${error}</p>`}
      ${SECTIONS.filter(([key]) => mine.includes(key)).map(
        ([key, title, View, empty]) => html`
          <section class="card" data-queue=${key}>
            <h2>${title} ${queue && html`<span class="badge">${queue[key].length}</span>`}</h2>
            ${!queue && !error && html`<p class="muted">正在加载……</p>`}
            ${queue && queue[key].length === 0 && html`<p class="muted">${empty}</p>`}
            <ul class="queue-list">
              ${(queue?.[key] || []).map((item) => html`<${View} key=${item.id} item=${item} onDone=${done} />`)}
            </ul>
          </section>`,
      )}
    </div>`;
}
