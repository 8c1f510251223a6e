// 党员: the members of the unit shown, searched by name or ID number and filtered by
// verification state; a member's page shows what the rules propose (lost contact, mobility,
// form exemption, suspension clock) and its history from the audit trail.

import { html, useState, useEffect } from '../core/ui.js';
import { api } from '../core/api.js';
import { words } from '../core/words.js';
import { date, number } from '../core/format.js';
import { patch } from '../core/records.js';

const PAGE = 50;

function useUnits() {
  const [names, setNames] = useState(new Map());
  useEffect(() => {
    api.get('/v1/org-units').then(
      (r) => setNames(new Map(r.org_units.map((u) => [u.id, u.name]))),
      () => {},
    );
  }, []);
  return names;
}

/** A member field's value as people read it: enum words by their labels, 是/否, dates. */
/** The member fields that name a branch (a move to another branch, docs/domain.md §6.7). */
const UNIT_FIELDS = ['move_to_branch_id', 'moved_from_branch_id', 'start_branch_id'];

function show(value, field, units) {
  if (value === null || value === undefined || value === '') return '—';
  // A branch by its name; one outside the caller's units cannot be named to it.
  if (UNIT_FIELDS.includes(field)) return units?.get(value) || '其他党支部';
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) return date(value);
  if (Array.isArray(value) && value.some((v) => v && typeof v === 'object')) {
    // A list of people (name and duty).
    return value.map((v) => (v?.name ? `${v.name}${v.duty ? `（${v.duty}）` : ''}` : '')).join('、');
  }
  if (value && typeof value === 'object') return '（已修改）';
  return words().display('members', field, value) || '—';
}

/** A member's roster status as people read it (never set: the machine's implicit state). */
function rosterStatus(value) {
  return show(value || 'unverified', 'roster_status');
}

function Proposals({ member }) {
  const [p, setP] = useState(null);
  const [error, setError] = useState('');
  useEffect(() => {
    api.get('/v1/proposals', { org_unit_id: member.org_unit_id }).then(
      (r) => setP(r.members.find((m) => m.member_id === member.id) || null),
      (e) => setError(e.message),
    );
  }, [member.id]);
  if (error) return html`<p class="error-text">${error}</p>`;
  if (!p) return html`<p class="muted">正在加载……</p>`;
  const items = [];
  if (p.lost_contact) {
    items.push(['失联认定', p.lost_contact.proposed ? '建议认定为失联党员' : '不属于失联党员', p.lost_contact.reason_zh]);
  }
  if (p.mobile) {
    items.push(['流动党员', p.mobile.proposed ? '建议认定为流动党员' : '不属于流动党员', p.mobile.reason_zh || '']);
  }
  items.push(['免填入党志愿书', { exempt: '可以免填', eligible_by_reference: '可参照免填，需支部决定', not_exempt: '不能免填' }[p.form_exemption.proposal] || '', p.form_exemption.reason_zh]);
  if (p.suspension) items.push(['停止党籍', `自${date(p.suspension.effective_on)}起`, p.suspension.reminder_zh]);
  if (p.identity_not_recognized) items.push(['党员身份', '不予认定', p.identity_not_recognized.reason_zh]);
  return html`
    <dl class="proposals">
      ${items.map(([k, v, why]) => html`<div><dt>${k}</dt><dd><strong>${v}</strong>${why && html`<span class="muted">（${why}）</span>`}</dd></div>`)}
    </dl>`;
}

function History({ member, units }) {
  const [entries, setEntries] = useState(null);
  const [error, setError] = useState('');
  useEffect(() => {
    api.get('/v1/audit', { collection: 'members', id: member.id }).then(
      (r) => setEntries(r.entries),
      (e) => setError(e.status === 403 ? '您的角色不能查看修改记录。' : e.message),
    );
  }, [member.id, member.version]);
  if (error) return html`<p class="muted">${error}</p>`;
  if (!entries) return html`<p class="muted">正在加载……</p>`;
  const w = words();
  // A device by its user and its place among that user's devices in this history (设备1, 设备2
  // in the order they first wrote), never its id; an import as such.
  const numbers = new Map();
  for (const e of entries) {
    const mine = numbers.get(e.user_id) || new Map();
    if (!mine.has(e.device_id)) mine.set(e.device_id, mine.size + 1);
    numbers.set(e.user_id, mine);
  }
  const deviceLabel = (e) => {
    if (e.device_id?.startsWith('import-')) return '表格导入';
    return `设备${numbers.get(e.user_id)?.get(e.device_id) ?? ''}`;
  };
  return html`
    <ol class="history">
      ${[...entries].reverse().map(
        (e) => html`<li data-version=${e.version}>
          <div class="muted small">${[
            new Date(e.server_time).toLocaleString('zh-CN', { hour12: false }),
            w.word('audit_ops', e.op),
          ].join(' · ')} · <span data-who>${e.user_name || '已删除的账号'}</span> · <span data-device>${deviceLabel(e)}</span></div>
          <ul>
            ${Object.entries(e.changes || {}).map(
              ([field, pair]) => html`<li data-field=${field}>${w.label('members', field)}：${show(pair?.[0], field, units)} → ${show(pair?.[1], field, units)}</li>`,
            )}
          </ul>
        </li>`,
      )}
    </ol>`;
}

/** The five checks (docs/domain.md §4): done or not, when, by whom, what was found. */
function FiveChecks({ member }) {
  const [checks, setChecks] = useState(null);
  const [error, setError] = useState('');
  useEffect(() => {
    api.get(`/v1/members/${member.id}/checks`).then(
      (r) => setChecks(r.checks),
      (e) => setError(e.message),
    );
  }, [member.id, member.version]);
  if (error) return html`<p class="error-text">${error}</p>`;
  if (!checks) return html`<p class="muted">正在加载……</p>`;
  return html`
    <table class="checks">
      <thead><tr><th>核查项目</th><th>状态</th><th>日期</th><th>登记人</th><th>情况</th></tr></thead>
      <tbody>
        ${checks.map(
          (k) => html`<tr data-check=${k.check} data-done=${k.done ? 'yes' : 'no'}>
            <th scope="row">${k.label_zh}</th>
            <td class=${k.done ? 'ok-text' : 'muted'}>${k.done ? '已完成' : '未完成'}</td>
            <td data-label="日期">${k.on ? date(k.on) : '—'}</td>
            <td data-label="登记人">${k.by_name || '—'}</td>
            <td>${k.detail_zh}</td>
          </tr>`,
        )}
      </tbody>
    </table>`;
}

/** The member's snapshot in the frozen baseline (docs/domain.md §8.9), and for the 组织办 the
 * form to correct it with a reason. */
function Baseline({ member, role, onCorrected }) {
  const b = member.baseline;
  const [editing, setEditing] = useState(false);
  const [lost, setLost] = useState(b?.lost ?? false);
  const [months, setMonths] = useState(b?.lost_months ?? '');
  const [mobile, setMobile] = useState(b?.mobile ?? false);
  const [reason, setReason] = useState('');
  const [error, setError] = useState('');
  if (!b) return html`<p class="muted" data-baseline="none">排查底数尚未确定。</p>`;
  const text = `${b.kind === 'at_start' ? '排查开始时在册' : `排查开始后登记（${date(b.on)}）`}；${
    b.lost ? `排查开始时失联${b.lost_months == null ? '（月数不详）' : `${b.lost_months}个月`}` : '排查开始时未失联'
  }；${b.mobile ? '流动党员' : '非流动党员'}`;
  async function submit(e) {
    e.preventDefault();
    if (!reason.trim()) {
      setError('请填写更正理由');
      return;
    }
    try {
      await api.post(`/v1/members/${member.id}/baseline`, {
        lost,
        lost_months: lost && months !== '' ? Number(months) : null,
        mobile,
        reason: reason.trim(),
      });
      setEditing(false);
      setError('');
      onCorrected();
    } catch (err) {
      setError(err.message);
    }
  }
  return html`<div class="baseline-row" data-baseline=${b.kind}>
    <p>${text}${b.corrected_on ? html`<span class="muted">（${date(b.corrected_on)}经组织办更正：${b.correction}）</span>` : ''}</p>
    ${role === 'org_office' && !editing && html`<button class="btn small" id="correct-baseline" onClick=${() => setEditing(true)}>更正底数</button>`}
    ${editing && html`<form class="baseline-form" onSubmit=${submit}>
      <label class="check"><input type="checkbox" id="baseline-lost" checked=${lost} onChange=${(e) => setLost(e.target.checked)} />排查开始时失联</label>
      <div class="field"><label for="baseline-months">失联月数</label>
        <input id="baseline-months" type="number" min="0" max="1200" value=${months} disabled=${!lost} onInput=${(e) => setMonths(e.target.value)} /></div>
      <label class="check"><input type="checkbox" id="baseline-mobile" checked=${mobile} onChange=${(e) => setMobile(e.target.checked)} />流动党员</label>
      <div class="field"><label for="baseline-reason">更正理由</label>
        <input id="baseline-reason" value=${reason} maxlength="500" onInput=${(e) => setReason(e.target.value)} /></div>
      <div class="buttons"><button class="btn primary" type="submit" id="baseline-save">保存更正</button>
        <button class="btn" type="button" onClick=${() => setEditing(false)}>取消</button></div>
    </form>`}
    ${error && html`<p class="error-text" role="alert">${error}</p>`}
  </div>`;
}

/** Who proposes a member's move to another branch (and withdraws it): docs/domain.md §6.7. */
const MOVERS = ['branch_secretary', 'org_office', 'committee_admin'];

/** A member's move to another branch: where it stands, and proposing or withdrawing one. */
function Move({ member, role, units, onChanged }) {
  const [branches, setBranches] = useState(null);
  const [to, setTo] = useState('');
  const [reason, setReason] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const [open, setOpen] = useState(false);
  const mayPropose = MOVERS.includes(role);
  useEffect(() => {
    if (mayPropose) api.get('/v1/org-units/branches').then((r) => setBranches(r.org_units), () => setBranches([]));
  }, [role]);
  const w = words();
  const mv = member.move;
  const name = (id) => branches?.find((b) => b.id === id)?.name || units.get(id) || '其他党支部';
  async function run(fields) {
    setBusy(true);
    try {
      await patch({ collection: 'members', id: member.id, version: member.version }, fields);
      setError('');
      setTo('');
      setReason('');
      setOpen(false);
      onChanged();
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  }
  const proposed = mv?.status === 'proposed';
  return html`<div class="move" data-move=${mv?.status || 'none'}>
    ${!mv && html`<p class="muted">没有转接记录。</p>`}
    ${proposed && html`<p>已提出转至 <strong>${name(mv.to_branch_id)}</strong>（${mv.reason || ''}），${w.display('members', 'move_status', 'proposed')}。</p>`}
    ${mv?.status === 'accepted' && html`<p>${date(mv.moved_on)}由 <strong>${name(mv.moved_from_branch_id)}</strong> 转入现所在党支部。${member.baseline ? '排查开始时的底数仍计入原支部。' : ''}</p>`}
    ${mv?.status === 'declined' && html`<p>${w.display('members', 'move_status', 'declined')}：${mv.note || ''}</p>`}
    ${mv?.status === 'cancelled' && html`<p class="muted">${w.display('members', 'move_status', 'cancelled')}。</p>`}
    ${mayPropose && proposed && html`<button class="btn" type="button" data-move-cancel disabled=${busy}
      onClick=${() => run({ move_status: 'cancelled' })}>撤销转接申请</button>`}
    ${mayPropose && !proposed && !open && html`<button class="btn" type="button" id="move-open" onClick=${() => setOpen(true)}>转至其他党支部…</button>`}
    ${mayPropose && !proposed && open && branches && html`<form class="move-form" onSubmit=${(e) => {
      e.preventDefault();
      run({ move_status: 'proposed', move_to_branch_id: to, move_reason: reason.trim() });
    }}>
      <div class="field"><label for="move-to">${w.label('members', 'move_to_branch_id')}</label>
        <select id="move-to" value=${to} onChange=${(e) => setTo(e.target.value)} required>
          <option value="">请选择</option>
          ${branches.filter((b) => b.id !== member.org_unit_id).map((b) => html`<option value=${b.id}>${b.name}</option>`)}
        </select></div>
      <div class="field"><label for="move-reason">${w.label('members', 'move_reason')}</label>
        <input id="move-reason" value=${reason} maxlength="500" required onInput=${(e) => setReason(e.target.value)} /></div>
      <div class="buttons"><button class="btn primary" type="submit" id="move-propose" disabled=${busy || !to || !reason.trim()}>提出转接</button>
        <button class="btn" type="button" onClick=${() => setOpen(false)}>取消</button></div>
    </form>`}
    ${error && html`<p class="error-text" role="alert">${error}</p>`}
  </div>`;
}

function MemberPage({ member, units, role, onClose, onChanged }) {
  const unitName = units.get(member.org_unit_id);
  return html`
    <section class="card member-page" data-member=${member.id} aria-labelledby="member-title">
      <div class="title-row">
        <h2 id="member-title">${member.name} <span class="muted kind">${unitName || ''}</span></h2>
        <button class="btn small" onClick=${onClose}>返回列表</button>
      </div>
      <dl class="facts">
        <div><dt>公民身份号码</dt><dd>${member.id_number || '—'}</dd></div>
        <div><dt>性别</dt><dd>${show(member.gender, 'gender')}</dd></div>
        <div><dt>人员类别</dt><dd>${show(member.member_type, 'member_type')}</dd></div>
        <div><dt>核查状态</dt><dd>${rosterStatus(member.roster_status)}</dd></div>
        <div><dt>联系状态</dt><dd>${show(member.contact_status, 'contact_status')}</dd></div>
        <div><dt>核查结果登记日期</dt><dd>${show(member.checked_on, 'checked_on')}</dd></div>
      </dl>
      <h3>排查底数</h3>
      <${Baseline} member=${member} role=${role} onCorrected=${onChanged} />
      <h3>支部间转接</h3>
      <${Move} member=${member} role=${role} units=${units} onChanged=${onChanged} />
      <h3>五项核查</h3>
      <${FiveChecks} member=${member} />
      <h3>规则建议</h3>
      <${Proposals} member=${member} />
      <h3>修改记录</h3>
      <${History} member=${member} units=${units} />
    </section>`;
}

export function Members({ unitId, role }) {
  const names = useUnits();
  const [q, setQ] = useState('');
  const [status, setStatus] = useState('');
  const [list, setList] = useState(null);
  const [error, setError] = useState('');
  const [open, setOpen] = useState(null);

  async function load(offset) {
    try {
      // In the body, never the URL: the text may be an ID number, and proxies log URLs.
      const search = { org_unit_id: unitId, limit: PAGE, offset };
      if (q.trim()) search.q = q.trim();
      if (status) search.roster_status = status;
      const page = await api.post('/v1/members/search', search);
      setError('');
      setList((prev) => (offset > 0 && prev ? { ...page, members: [...prev.members, ...page.members] } : page));
    } catch (e) {
      setError(e.message);
    }
  }
  // Search as the user types, a moment after the last key.
  useEffect(() => {
    const timer = setTimeout(() => load(0), 250);
    return () => clearTimeout(timer);
  }, [unitId, q, status]);

  if (open) {
    // After a correction, the member as the server now has it.
    const refresh = async () => {
      const page = await api.get('/v1/members', { org_unit_id: unitId, ids: open.id });
      if (page.members[0]) setOpen(page.members[0]);
    };
    return html`<${MemberPage} member=${open} units=${names} role=${role}
      onClose=${() => setOpen(null)} onChanged=${refresh} />`;
  }
  return html`
    <div class="members">
      <h1>党员</h1>
      <div class="card search-bar">
        <div class="field">
          <label for="member-search">姓名或公民身份号码</label>
          <input id="member-search" type="search" value=${q} maxlength="50" placeholder="输入姓名或身份号码"
            onInput=${(e) => setQ(e.target.value)} />
        </div>
        <div class="field">
          <label for="member-status">核查状态</label>
          <select id="member-status" value=${status} onChange=${(e) => setStatus(e.target.value)}>
            <option value="">全部</option>
            ${words().values('members', 'roster_status').map((s) => html`<option value=${s.value}>${s.label}</option>`)}
          </select>
        </div>
      </div>
      ${error && html`<p class="card error-text" role="alert">${error}</p>`}
      ${list &&
      html`<section class="card">
        <p class="muted small" data-total=${list.total}>共 ${number(list.total)} 名党员</p>
        ${list.total === 0
          ? html`<p class="muted">没有符合条件的党员。</p>`
          : html`<div class="table-wrap"><table class="grid member-table">
              <thead><tr><th scope="col">姓名</th><th scope="col">公民身份号码</th><th scope="col">党支部</th>
                <th scope="col">核查状态</th><th scope="col">联系状态</th></tr></thead>
              <tbody>
                ${list.members.map(
                  (m) => html`<tr data-member=${m.id}>
                    <th scope="row"><button class="link" onClick=${() => setOpen(m)}>${m.name}</button></th>
                    <td class="mono">${m.id_number || '—'}</td>
                    <td>${names.get(m.org_unit_id) || ''}</td>
                    <td>${rosterStatus(m.roster_status)}</td>
                    <td>${show(m.contact_status, 'contact_status')}</td>
                  </tr>`,
                )}
              </tbody>
            </table></div>`}
        ${list.members.length < list.total &&
        html`<button class="btn" onClick=${() => load(list.members.length)}>加载更多</button>`}
      </section>`}
    </div>`;
}
