// 管理: the accounts of the admin's subtree (create, disable, change role or unit, reset a
// password, devices and sessions, the account log), the org tree (add a child unit, delete an
// empty one; rename one), the campaign record
// (committee admin only, written through the sync push) and the sync health of every branch.
// Every refusal shows the server's Chinese message next to the action that caused it.

import { html, useState, useEffect, useRef } from '../core/ui.js';
import { api } from '../core/api.js';
import { pullAll, patch, put } from '../core/records.js';
import { words } from '../core/words.js';
import { date } from '../core/format.js';

const BEHIND_DAYS = 3;

/** The roles `own` may give to a user of a unit of `kind` (the server's rule, from its words). */
function rolesFor(own, kind) {
  return words().assignable(own, kind);
}

/** An ISO instant in China's time: `2026年11月29日 12:05`. */
function when(iso) {
  if (!iso) return '';
  const d = new Date(Date.parse(iso) + 8 * 3600 * 1000);
  const t = d.toISOString();
  return `${date(t.slice(0, 10))} ${t.slice(11, 16)}`;
}

/** Whole days since an ISO instant (null for never). */
function daysSince(iso) {
  if (!iso) return null;
  return Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 86400000));
}

function ago(iso) {
  const d = daysSince(iso);
  if (d === null) return '从未';
  return d === 0 ? '今天' : `${d} 天前`;
}

/** One action's state: `run(fn)` runs it, keeps its refusal's message and whether it is busy. */
function useAction() {
  const [state, setState] = useState({ busy: false, error: '', done: '' });
  async function run(fn, done = '') {
    setState({ busy: true, error: '', done: '' });
    try {
      const r = await fn();
      setState({ busy: false, error: '', done });
      return r;
    } catch (e) {
      setState({ busy: false, error: e.message, done: '' });
      return undefined;
    }
  }
  return { ...state, run };
}

function Outcome({ action, name }) {
  if (action.error) return html`<p class="error-text" role="alert" data-error=${name}>${action.error}</p>`;
  if (action.done) return html`<p class="ok-text" role="status" data-done=${name}>${action.done}</p>`;
  return null;
}

/** A button that asks once more in the page before it acts. */
function ConfirmButton({ label, question, onConfirm, name, disabled, danger = true }) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return html`<button type="button" class="btn ${danger ? 'danger' : ''}" data-action=${name}
      disabled=${disabled} onClick=${() => setAsking(true)}>${label}</button>`;
  }
  return html`
    <span class="confirm" role="group" aria-label=${question} data-confirm=${name}>
      <span>${question}</span>
      <button type="button" class="btn primary" data-yes
        onClick=${() => {
          setAsking(false);
          onConfirm();
        }}>确定</button>
      <button type="button" class="btn" data-no onClick=${() => setAsking(false)}>取消</button>
    </span>`;
}

function unitName(units, id) {
  return units.find((u) => u.id === id)?.name || '';
}

function CreateUser({ own, units, onCreated }) {
  const [form, setForm] = useState({ username: '', display_name: '', password: '', role: '', org_unit_id: '' });
  const action = useAction();
  const unit = units.find((u) => u.id === form.org_unit_id);
  const roles = unit ? rolesFor(own, unit.kind) : [];
  const set = (k) => (e) => setForm({ ...form, [k]: e.target.value });
  async function submit(e) {
    e.preventDefault();
    const body = {
      username: form.username.trim(),
      password: form.password,
      role: form.role,
      org_unit_id: form.org_unit_id,
    };
    if (form.display_name.trim()) body.display_name = form.display_name.trim();
    const made = await action.run(() => api.post('/v1/users', body), `已创建账号 ${body.username}`);
    if (made) {
      setForm({ username: '', display_name: '', password: '', role: '', org_unit_id: '' });
      onCreated(made);
    }
  }
  return html`
    <form novalidate class="card admin-form" data-form="create-user" onSubmit=${submit}>
      <h2>新建账号</h2>
      <div class="form-grid">
        <div class="field"><label for="new-username">用户名</label>
          <input id="new-username" required autocomplete="off" value=${form.username} onInput=${set('username')} /></div>
        <div class="field"><label for="new-display">姓名</label>
          <input id="new-display" value=${form.display_name} onInput=${set('display_name')} /></div>
        <div class="field"><label for="new-password">初始密码</label>
          <input id="new-password" type="password" required autocomplete="new-password" value=${form.password}
            onInput=${set('password')} /></div>
        <div class="field"><label for="new-unit">单位</label>
          <select id="new-unit" required value=${form.org_unit_id}
            onChange=${(e) => setForm({ ...form, org_unit_id: e.target.value, role: '' })}>
            <option value="">请选择单位</option>
            ${units.map((u) => html`<option value=${u.id}>${u.name}（${words().kind(u.kind)}）</option>`)}
          </select></div>
        <div class="field"><label for="new-role">角色</label>
          <select id="new-role" required value=${form.role} onChange=${set('role')}>
            <option value="">${unit ? '请选择角色' : '请先选择单位'}</option>
            ${roles.map((r) => html`<option value=${r}>${words().role(r)}</option>`)}
          </select></div>
      </div>
      <button class="btn primary" type="submit" disabled=${action.busy}>创建账号</button>
      <${Outcome} action=${action} name="create-user" />
    </form>`;
}

function Devices({ user, round, onChanged }) {
  const [devices, setDevices] = useState(null);
  const [loadError, setLoadError] = useState('');
  const revoke = useAction();
  const end = useAction();
  useEffect(() => {
    let alive = true;
    api.get(`/v1/users/${user.id}/devices`).then(
      (r) => alive && setDevices(r.devices),
      (e) => alive && setLoadError(e.message),
    );
    return () => {
      alive = false;
    };
  }, [user.id, round]);
  return html`
    <section class="sub" data-devices>
      <h3>设备</h3>
      ${loadError && html`<p class="error-text" role="alert">${loadError}</p>`}
      ${devices && devices.length === 0 && html`<p class="muted">该账号还没有登录过。</p>`}
      ${devices && devices.length > 0 && html`
        <ul class="device-list">
          ${devices.map(
            (d) => html`<li data-device=${d.device_id || ''}>
              <div>
                <strong>${d.device_id || '未标明设备'}</strong>
                <span class="muted small">${d.active_sessions > 0 ? `${d.active_sessions} 个有效登录` : '无有效登录'}</span>
              </div>
              <div class="muted small">
                最近登录：${d.signed_in_at ? html`${when(d.signed_in_at)}（${ago(d.signed_in_at)}）` : '无'}；
                最近同步：${d.last_sync_at ? html`${when(d.last_sync_at)}（${ago(d.last_sync_at)}）` : '从未同步'}
              </div>
              ${d.device_id && d.active_sessions > 0 && html`
                <${ConfirmButton} label="注销此设备" name="revoke-device" question="确定注销此设备的登录吗？"
                  disabled=${revoke.busy}
                  onConfirm=${() =>
                    revoke
                      .run(
                        () => api.request('DELETE', `/v1/users/${user.id}/devices/${encodeURIComponent(d.device_id)}`),
                        `已注销设备 ${d.device_id}`,
                      )
                      .then(onChanged)} />`}
            </li>`,
          )}
        </ul>`}
      <${Outcome} action=${revoke} name="revoke-device" />
      <div class="actions">
        <${ConfirmButton} label="结束全部登录" name="end-sessions" question="确定结束该账号在所有设备上的登录吗？"
          disabled=${end.busy}
          onConfirm=${() =>
            end.run(() => api.request('DELETE', `/v1/users/${user.id}/sessions`), '已结束全部登录').then(onChanged)} />
      </div>
      <${Outcome} action=${end} name="end-sessions" />
    </section>`;
}

function AccountLog({ user, units, round }) {
  const [events, setEvents] = useState(null);
  const [error, setError] = useState('');
  useEffect(() => {
    let alive = true;
    api.get(`/v1/users/${user.id}/log`).then(
      (r) => alive && setEvents(r.events),
      (e) => alive && setError(e.message),
    );
    return () => {
      alive = false;
    };
  }, [user.id, round]);
  const one = (k, v) => {
    if (k === 'role') return v ? words().role(v) : '—';
    if (k === 'org_unit_id') return unitName(units, v) || '—';
    return v || '—';
  };
  const fieldName = (k) => words().tables.account_fields.get(k);
  const detail = (d) =>
    Object.entries(d || {})
      .filter(([k]) => fieldName(k))
      .map(([k, v]) => {
        if (k === 'disabled') return (v && typeof v === 'object' ? v.to : v) ? '停用账号' : '启用账号';
        if (v && typeof v === 'object' && 'to' in v) return `${fieldName(k)}：由${one(k, v.from)}改为${one(k, v.to)}`;
        return `${fieldName(k)}：${one(k, v)}`;
      })
      .join('，');
  return html`
    <section class="sub" data-log>
      <h3>账号记录</h3>
      ${error && html`<p class="error-text" role="alert">${error}</p>`}
      ${events && events.length === 0 && html`<p class="muted">没有记录。</p>`}
      ${events && events.length > 0 && html`
        <ol class="log-list">
          ${events.map(
            (e) => html`<li data-event=${e.action}>
              <span class="muted small">${when(e.at)}</span>
              <span>${e.actor_username}：${words().tables.account_actions.get(e.action) || '其他操作'}</span>
              <span class="muted small">${detail(e.detail)}</span>
            </li>`,
          )}
        </ol>`}
    </section>`;
}

function UserPanel({ user, own, units, onChanged, onClose }) {
  const [round, setRound] = useState(0);
  const [role, setRole] = useState(user.role);
  const [unitId, setUnitId] = useState(user.org_unit_id || '');
  const [password, setPassword] = useState('');
  const toggle = useAction();
  const change = useAction();
  const reset = useAction();
  const unit = units.find((u) => u.id === unitId);
  const roles = unit ? rolesFor(own, unit.kind) : [];
  const changed = () => {
    setRound((n) => n + 1);
    onChanged();
  };
  const here = useRef(null);
  useEffect(() => here.current?.scrollIntoView({ block: 'start' }), [user.id]);
  useEffect(() => {
    setRole(user.role);
    setUnitId(user.org_unit_id || '');
  }, [user.id, user.role, user.org_unit_id]);

  async function save(e) {
    e.preventDefault();
    const body = {};
    if (role !== user.role) body.role = role;
    if (unitId !== user.org_unit_id) body.org_unit_id = unitId;
    await change.run(() => api.request('PATCH', `/v1/users/${user.id}`, { body }), '已保存').then(changed);
  }

  return html`
    <section class="card user-panel" ref=${here} data-panel=${user.username} aria-label="账号 ${user.username}">
      <div class="title-row">
        <h2>${user.display_name || user.username} <span class="muted kind">${user.username}</span></h2>
        <button class="btn small" type="button" data-close onClick=${onClose}>关闭</button>
      </div>
      <div class="actions">
        ${user.disabled
          ? html`<button class="btn" type="button" data-action="enable" disabled=${toggle.busy}
              onClick=${() =>
                toggle
                  .run(() => api.request('PATCH', `/v1/users/${user.id}`, { body: { disabled: false } }), '已启用')
                  .then(changed)}>启用账号</button>`
          : html`<${ConfirmButton} label="停用账号" name="disable" question="停用后该账号立即无法使用，确定吗？"
              disabled=${toggle.busy}
              onConfirm=${() =>
                toggle
                  .run(() => api.request('PATCH', `/v1/users/${user.id}`, { body: { disabled: true } }), '已停用')
                  .then(changed)} />`}
      </div>
      <${Outcome} action=${toggle} name="toggle" />

      <form novalidate class="sub" data-form="change-user" onSubmit=${save}>
        <h3>角色与单位</h3>
        <div class="form-grid">
          <div class="field"><label for="edit-unit">单位</label>
            <select id="edit-unit" value=${unitId} onChange=${(e) => setUnitId(e.target.value)}>
              ${units.map((u) => html`<option value=${u.id}>${u.name}（${words().kind(u.kind)}）</option>`)}
            </select></div>
          <div class="field"><label for="edit-role">角色</label>
            <select id="edit-role" value=${role} onChange=${(e) => setRole(e.target.value)}>
              ${!roles.includes(role) && html`<option value=${role}>${role ? words().role(role) : '请选择角色'}</option>`}
              ${roles.map((r) => html`<option value=${r}>${words().role(r)}</option>`)}
            </select></div>
        </div>
        <button class="btn" type="submit" disabled=${change.busy || (role === user.role && unitId === user.org_unit_id)}>
          保存角色与单位</button>
        <${Outcome} action=${change} name="change-user" />
      </form>

      <form novalidate class="sub" data-form="reset-password" onSubmit=${(e) => e.preventDefault()}>
        <h3>重置密码</h3>
        <div class="field"><label for="reset-password">新密码</label>
          <input id="reset-password" type="password" autocomplete="new-password" value=${password}
            onInput=${(e) => setPassword(e.target.value)} /></div>
        <${ConfirmButton} label="重置密码" name="reset-password" question="重置后该账号的全部登录将结束，确定吗？"
          disabled=${reset.busy || !password}
          onConfirm=${() =>
            reset
              .run(() => api.post(`/v1/users/${user.id}/password`, { password }), '密码已重置')
              .then(() => {
                setPassword('');
                changed();
              })} />
        <${Outcome} action=${reset} name="reset-password" />
      </form>

      <${Devices} user=${user} round=${round} onChanged=${changed} />
      <${AccountLog} user=${user} units=${units} round=${round} />
    </section>`;
}

function Users({ own, selfId, users, units, reload }) {
  const [open, setOpen] = useState('');
  const shown = users.find((u) => u.id === open);
  return html`
    <section class="card">
      <h2>账号（${users.length}）</h2>
      <div class="table-wrap">
        <table class="grid users">
          <thead><tr><th scope="col">用户名</th><th scope="col">姓名</th><th scope="col">角色</th>
            <th scope="col">单位</th><th scope="col">状态</th><th scope="col">操作</th></tr></thead>
          <tbody>
            ${users.map(
              (u) => html`<tr data-user=${u.username} class=${u.disabled ? 'disabled' : ''}>
                <th scope="row">${u.username}</th><td>${u.display_name || ''}</td><td>${words().role(u.role)}</td>
                <td>${unitName(units, u.org_unit_id)}</td>
                <td data-state>${u.disabled ? html`<span class="chip missing">已停用</span>` : html`<span class="chip on_time">正常</span>`}</td>
                <td>${u.id !== selfId && words().manages(own, u.role) &&
                html`<button class="btn small" type="button" data-manage onClick=${() => setOpen(u.id)}>管理</button>`}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
    </section>
    ${shown && html`<${UserPanel} key=${shown.id} user=${shown} own=${own} units=${units} onChanged=${reload}
      onClose=${() => setOpen('')} />`}
    <${CreateUser} own=${own} units=${units} onCreated=${reload} />`;
}

/** Depth of each unit in the list (parents come before children). */
function depths(units) {
  const d = {};
  for (const u of units) d[u.id] = u.parent_id && d[u.parent_id] !== undefined ? d[u.parent_id] + 1 : 0;
  return d;
}

/** Units in tree order: each parent followed by its children, in the server's order. */
function treeOrder(units) {
  const kids = {};
  const ids = new Set(units.map((u) => u.id));
  for (const u of units) {
    const key = u.parent_id && ids.has(u.parent_id) ? u.parent_id : '';
    (kids[key] ||= []).push(u);
  }
  const out = [];
  const walk = (key) => {
    for (const u of kids[key] || []) {
      out.push(u);
      walk(u.id);
    }
  };
  walk('');
  return out;
}

function OrgUnitRow({ unit, depth, rootId, reload }) {
  const [adding, setAdding] = useState(false);
  const [name, setName] = useState('');
  const [renaming, setRenaming] = useState(false);
  const [newName, setNewName] = useState(unit.name);
  const add = useAction();
  const del = useAction();
  const rename = useAction();
  async function submitRename(e) {
    e.preventDefault();
    const done = await rename.run(
      () => api.request('PATCH', `/v1/org-units/${unit.id}`, { body: { name: newName.trim() } }),
      '',
    );
    if (done) {
      setRenaming(false);
      reload();
    }
  }
  // What may hang below (the server's placement rule, from its words), the next level first.
  const kinds = words().childKinds(unit.kind);
  const [chosen, setChosen] = useState('');
  const child = kinds.includes(chosen) ? chosen : kinds[0];
  async function submit(e) {
    e.preventDefault();
    const made = await add.run(
      () => api.post('/v1/org-units', { parent_id: unit.id, kind: child, name: name.trim() }),
      '',
    );
    if (made) {
      setName('');
      setAdding(false);
      reload();
    }
  }
  return html`
    <li class="org-unit" data-unit=${unit.id} style=${{ '--depth': depth }}>
      <div class="org-row">
        <span class="org-name">${unit.name} <span class="muted small">${words().kind(unit.kind)}</span></span>
        <span class="actions">
          <button class="btn small" type="button" data-action="rename"
            onClick=${() => { setNewName(unit.name); setRenaming(!renaming); }}>重命名</button>
          ${child && html`<button class="btn small" type="button" data-action="add-child"
            onClick=${() => setAdding(!adding)}>添加${kinds.length > 1 ? '下级单位' : words().kind(child)}</button>`}
          ${unit.id !== rootId && html`<${ConfirmButton} label="删除" name="delete-unit"
            question="确定删除「${unit.name}」吗？" disabled=${del.busy}
            onConfirm=${() => del.run(() => api.request('DELETE', `/v1/org-units/${unit.id}`)).then(reload)} />`}
        </span>
      </div>
      <${Outcome} action=${del} name="delete-unit" />
      ${renaming && html`
        <form novalidate class="add-unit" data-form="rename-unit" onSubmit=${submitRename}>
          <div class="field"><label for="rename-${unit.id}">新名称</label>
            <input id="rename-${unit.id}" required maxlength="100" value=${newName}
              onInput=${(e) => setNewName(e.target.value)} /></div>
          <div class="actions">
            <button class="btn primary" type="submit" disabled=${rename.busy}>保存名称</button>
            <button class="btn" type="button" onClick=${() => setRenaming(false)}>取消</button>
          </div>
          <${Outcome} action=${rename} name="rename-unit" />
        </form>`}
      ${adding && html`
        <form novalidate class="add-unit" data-form="add-unit" onSubmit=${submit}>
          ${kinds.length > 1 &&
          html`<div class="field"><label for="child-kind-${unit.id}">单位类别</label>
            <select id="child-kind-${unit.id}" value=${child} onChange=${(e) => setChosen(e.target.value)}>
              ${kinds.map((k) => html`<option value=${k}>${words().kind(k)}</option>`)}
            </select></div>`}
          <div class="field"><label for="child-${unit.id}">新${words().kind(child)}名称</label>
            <input id="child-${unit.id}" required maxlength="100" value=${name}
              onInput=${(e) => setName(e.target.value)} /></div>
          <div class="actions">
            <button class="btn primary" type="submit" disabled=${add.busy}>添加</button>
            <button class="btn" type="button" onClick=${() => setAdding(false)}>取消</button>
          </div>
          <${Outcome} action=${add} name="add-unit" />
        </form>`}
    </li>`;
}

function OrgTree({ units, rootId, reload }) {
  const d = depths(units);
  return html`
    <section class="card">
      <h2>组织机构</h2>
      <p class="muted small">只能删除没有下级单位和账号的单位。</p>
      <ul class="org-tree">
        ${treeOrder(units).map(
          (u) => html`<${OrgUnitRow} key=${u.id} unit=${u} depth=${d[u.id]} rootId=${rootId} reload=${reload} />`,
        )}
      </ul>
    </section>`;
}

const CAMPAIGN_FIELDS = [
  ['name', '名称', 'text', true],
  ['start_date', '排查开始日期', 'date', true],
  ['ledger_deadline', '台帐报送截止日期', 'date'],
  ['verification_ends_on', '核查党员信息截止日期', 'date'],
  ['search_starts_on', '联系查找开始日期', 'date'],
  ['search_ends_on', '联系查找截止日期', 'date'],
  ['relationships_starts_on', '理顺组织关系开始日期', 'date'],
  ['relationships_ends_on', '理顺组织关系截止日期', 'date'],
  ['dispositions_starts_on', '稳妥处置开始日期', 'date'],
  ['dispositions_ends_on', '稳妥处置截止日期', 'date'],
  ['finalization_ends_on', '完善信息截止日期', 'date'],
  ['lost_threshold_months', '失联认定月数', 'number'],
  ['suspension_window_years', '停止党籍期限（年）', 'number'],
];

function Campaign({ committeeId }) {
  const [record, setRecord] = useState(undefined);
  const [form, setForm] = useState({});
  const [round, setRound] = useState(0);
  const load = useAction();
  const save = useAction();
  useEffect(() => {
    load
      .run(() => pullAll(['campaigns']))
      .then((records) => {
        if (!records) return;
        const r = [...records.values()][0] || null;
        setRecord(r);
        const f = {};
        for (const [k] of CAMPAIGN_FIELDS) f[k] = r?.fields?.[k] ?? '';
        setForm(f);
      });
  }, [round]);
  async function submit(e) {
    e.preventDefault();
    const fields = {};
    for (const [k, , type] of CAMPAIGN_FIELDS) {
      const raw = String(form[k] ?? '').trim();
      const value = raw === '' ? null : type === 'number' ? Number(raw) : raw;
      if (record) {
        if (value !== (record.fields[k] ?? null)) fields[k] = value;
      } else if (value !== null) fields[k] = value;
    }
    if (record && Object.keys(fields).length === 0) {
      save.run(() => Promise.reject(new Error('没有需要保存的修改。')));
      return;
    }
    const ok = await save.run(
      () => (record ? patch(record, fields) : put('campaigns', committeeId, fields)),
      '已保存，总览的各阶段随之更新。',
    );
    if (ok) setRound((n) => n + 1);
  }
  return html`
    <form novalidate class="card admin-form" data-form="campaign" onSubmit=${submit}>
      <h2>排查工作</h2>
      <${Outcome} action=${load} name="campaign-load" />
      ${record === null && html`<p class="muted">尚未设置排查工作，填写名称和开始日期后保存即可开始。</p>`}
      <p class="muted small">各阶段日期留空时按开始日期和方案规定的时限推算。</p>
      <div class="form-grid">
        ${CAMPAIGN_FIELDS.map(
          ([k, label, type, required]) => html`<div class="field">
            <label for="campaign-${k}">${label}</label>
            <input id="campaign-${k}" type="text" inputmode=${type === 'number' ? 'numeric' : undefined}
              placeholder=${type === 'date' ? '例如 2026-03-01' : undefined}

              required=${!!required} value=${form[k] ?? ''}
              onInput=${(e) => setForm({ ...form, [k]: e.target.value })} />
          </div>`,
        )}
      </div>
      <button class="btn primary" type="submit" disabled=${save.busy || record === undefined}>保存排查工作</button>
      <${Outcome} action=${save} name="campaign" />
    </form>`;
}

function SyncHealth({ users, units }) {
  const [rows, setRows] = useState(null);
  const [error, setError] = useState('');
  const branches = treeOrder(units).filter((u) => u.kind === 'branch');
  useEffect(() => {
    let alive = true;
    const wanted = users.filter((u) => branches.some((b) => b.id === u.org_unit_id));
    Promise.all(
      wanted.map((u) =>
        api.get(`/v1/users/${u.id}/devices`).then((r) => ({ user: u, devices: r.devices })),
      ),
    ).then(
      (list) => alive && setRows(list),
      (e) => alive && setError(e.message),
    );
    return () => {
      alive = false;
    };
  }, [users]);
  return html`
    <section class="card">
      <h2>同步情况</h2>
      <p class="muted small">超过 ${BEHIND_DAYS} 天没有同步的设备标为「滞后」。</p>
      ${error && html`<p class="error-text" role="alert">${error}</p>`}
      ${!rows && !error && html`<p class="muted">正在加载……</p>`}
      ${rows && branches.length === 0 && html`<p class="muted">没有党支部。</p>`}
      ${rows &&
      branches.map((b) => {
        const mine = rows.filter((r) => r.user.org_unit_id === b.id);
        return html`<div class="sync-branch" data-branch=${b.id}>
          <h3>${b.name}</h3>
          ${mine.length === 0 && html`<p class="muted small">本支部没有账号。</p>`}
          <ul class="device-list">
            ${mine.map((r) =>
              r.devices.length === 0
                ? html`<li data-sync-user=${r.user.username}>
                    <strong>${r.user.display_name || r.user.username}</strong>
                    <span class="muted small">没有登录过的设备</span></li>`
                : r.devices.map((d) => {
                    const days = daysSince(d.last_sync_at);
                    const behind = days === null || days > BEHIND_DAYS;
                    return html`<li data-sync-user=${r.user.username} data-device=${d.device_id || ''}
                      data-behind=${behind ? 'true' : 'false'}>
                      <div><strong>${r.user.display_name || r.user.username}</strong>
                        <span class="muted small">${d.device_id || '未标明设备'}</span>
                        ${behind ? html`<span class="chip missing">滞后</span>` : html`<span class="chip on_time">正常</span>`}</div>
                      <div class="muted small">最近同步：${d.last_sync_at ? `${when(d.last_sync_at)}（${ago(d.last_sync_at)}）` : '从未同步'}</div>
                    </li>`;
                  }),
            )}
          </ul>
        </div>`;
      })}
    </section>`;
}

const SECTIONS = [
  ['users', '账号'],
  ['org', '组织机构', 'committee_admin'],
  ['campaign', '排查工作', 'committee_admin'],
  ['sync', '同步情况'],
];

export function Admin({ session }) {
  const own = session.user.role;
  const [section, setSection] = useState('users');
  const [data, setData] = useState(null);
  const [error, setError] = useState('');
  const [round, setRound] = useState(0);
  const reload = () => setRound((n) => n + 1);
  useEffect(() => {
    let alive = true;
    Promise.all([api.get('/v1/users'), api.get('/v1/org-units')]).then(
      ([u, o]) => alive && setData({ users: u.users, units: o.org_units }),
      (e) => alive && setError(e.message),
    );
    return () => {
      alive = false;
    };
  }, [round]);
  const sections = SECTIONS.filter(([, , only]) => !only || only === own);
  let body = null;
  if (data) {
    const units = treeOrder(data.units);
    const root = units[0];
    if (section === 'org') body = html`<${OrgTree} units=${data.units} rootId=${root?.id} reload=${reload} />`;
    else if (section === 'campaign') body = html`<${Campaign} committeeId=${root?.id} />`;
    else if (section === 'sync') body = html`<${SyncHealth} users=${data.users} units=${data.units} />`;
    else
      body = html`<${Users} own=${own} selfId=${session.user.id} users=${data.users} units=${units} reload=${reload} />`;
  }
  return html`
    <div class="admin">
      <h1>管理</h1>
      <nav class="segments" aria-label="管理项目">
        ${sections.map(
          ([key, label]) => html`<button type="button" class="segment ${section === key ? 'active' : ''}"
            data-section=${key} aria-pressed=${section === key} onClick=${() => setSection(key)}>${label}</button>`,
        )}
      </nav>
      ${error && html`<p class="card error-text" role="alert">${error}</p>`}
      ${!data && !error && html`<p class="muted">正在加载……</p>`}
      ${body}
    </div>`;
}
