// My branch's members: the list (search, filter by verification state, what the rules
// propose), a member's page with the five checks of the procedure (docs/domain.md §4), the
// verification steps the state machine allows the user from where the member stands, the
// member's data as a form made from the server's schema, contact cases and their attempts.

import { html, useState, useEffect, useMemo } from '../core/ui.js';
import { api } from '../core/api.js';
import { uuid7 } from '../core/ids.js';
import { checkIdNumber } from '../core/idnumber.js';
import { date, chinaToday } from '../core/format.js';
import { blobHash } from '../core/sha256.js';
import { ctx, useReplica, myBranch, unitName } from './app.js';
import { BlobImage, compress } from './form.js';

const PAGE = 60;
// One collator for every sort: `localeCompare` builds one per call.
const COLLATOR = new Intl.Collator('zh-CN');

const STATUS_FILTERS = [
  ['', '全部'],
  ['unverified', '未核查'],
  ['verified', '已核查'],
  ['pending_lost', '失联待确认'],
  ['flagged_surplus', '多余待审'],
];

const VERIFIED = ['confirmed_on_site', 'confirmed_remote', 'confirmed_assisted'];

function role() {
  return ctx.replica.get('user')?.role;
}

// The members sorted by name, once per change of the replica (a view is a new Map after each
// change), kept across visits of the list.
const SORTED = new WeakMap();
function sortedByName(view) {
  let sorted = SORTED.get(view);
  if (!sorted) {
    sorted = [...view.values()].sort((a, b) => COLLATOR.compare(a.fields.name || '', b.fields.name || ''));
    SORTED.set(view, sorted);
  }
  return sorted;
}

/** Rejections of one record, by field (the server's Chinese message beside the field). */
export function rejectionsOf(collection, id) {
  return ctx.replica.rejections.filter((r) => r.mutation.collection === collection && r.mutation.id === id);
}

function statusChip(fields) {
  const s = fields.roster_status ?? 'unverified';
  const cls = VERIFIED.includes(s) ? 'on_time' : s === 'unverified' ? 'open' : 'late';
  return html`<span class=${`chip ${cls}`} data-status=${s}>${ctx.schema.display('members', 'roster_status', s)}</span>`;
}

/** Proposals of the rules, fetched when online and kept for offline use. */
function useProposals() {
  const replica = useReplica();
  useEffect(() => {
    const branch = myBranch();
    api
      .get('/v1/proposals', { org_unit_id: branch })
      .then((list) => {
        const by = {};
        for (const m of list.members) {
          const tags = [];
          if (m.lost_contact?.proposed) tags.push('拟认定失联');
          if (m.mobile?.proposed) tags.push('拟认定流动');
          if (m.form_exemption?.proposal === 'exempt') tags.push('可免补志愿书');
          if (m.suspension) tags.push('停止党籍计时');
          if (m.identity_not_recognized) tags.push('身份不予认定');
          if (tags.length) by[m.member_id] = { tags, lost: m.lost_contact?.reason_zh, mobile: m.mobile?.reason_zh };
        }
        return replica.setMeta({ proposals: by });
      })
      .catch(() => {});
  }, []);
  return replica.get('proposals') || {};
}

/** Members other branches propose to move here: taken, or declined with a note. */
function Incoming({ members }) {
  const [declining, setDeclining] = useState(null);
  const [note, setNote] = useState('');
  const answer = async (m, fields) => {
    await ctx.replica.enqueue({ collection: 'members', id: m.id, op: 'patch', fields });
    ctx.sync.kick();
    setDeclining(null);
    setNote('');
  };
  return html`<div class="card notice" data-incoming>
    <h2>待本支部确认接收</h2>
    <ul class="list">${members.map((m) => html`<li key=${m.id} data-incoming-member=${m.id}>
      <div><strong>${m.fields.name}</strong> <span class="muted small">来自${unitName(m.org_unit_id) || '其他党支部'}</span></div>
      <div class="muted small">转接原因：${m.fields.move_reason || '—'}</div>
      ${m.pending
        ? html`<span class="chip pending">待上传</span>`
        : declining === m.id
          ? html`<div class="field"><label for="move-note">不予接收的理由</label>
              <input id="move-note" value=${note} maxlength="500" onInput=${(e) => setNote(e.target.value)} /></div>
              <div class="buttons"><button class="btn primary" type="button" data-decline-confirm disabled=${!note.trim()}
                onClick=${() => answer(m, { move_status: 'declined', move_note: note.trim() })}>确认不予接收</button>
              <button class="btn" type="button" onClick=${() => setDeclining(null)}>取消</button></div>`
          : html`<div class="buttons"><button class="btn primary" type="button" data-accept
              onClick=${() => answer(m, { move_status: 'accepted' })}>接收</button>
              <button class="btn" type="button" data-decline onClick=${() => setDeclining(m.id)}>不予接收</button></div>`}
    </li>`)}</ul>
  </div>`;
}

export function MemberList() {
  const replica = useReplica();
  const proposals = useProposals();
  const [q, setQ] = useState('');
  const [filter, setFilter] = useState('');
  const [shown, setShown] = useState(PAGE);
  const all = replica.view('members');
  // A member another branch proposes to move here is pulled, to be answered, but is not yet
  // this branch's (docs/domain.md §6.7).
  const branch = myBranch();
  const incoming = [...all.values()].filter((m) => m.org_unit_id !== branch && m.fields.move_to_branch_id === branch);
  const members = useMemo(
    () => (incoming.length ? new Map([...all].filter(([, m]) => m.org_unit_id === branch)) : all),
    [all, incoming.length],
  );
  const sorted = sortedByName(members);
  const needle = q.trim().toUpperCase();
  const matches = useMemo(
    () =>
      sorted.filter((m) => {
        const s = m.fields.roster_status ?? 'unverified';
        if (filter === 'verified' ? !VERIFIED.includes(s) : filter && s !== filter) return false;
        if (!needle) return true;
        return (m.fields.name || '').includes(q.trim()) || (m.fields.id_number || '').startsWith(needle);
      }),
    [sorted, filter, needle],
  );
  const counts = useMemo(() => {
    let verified = 0;
    for (const m of sorted) if (VERIFIED.includes(m.fields.roster_status)) verified++;
    return { total: sorted.length, verified };
  }, [sorted]);
  const rejected = new Set(replica.rejections.map((r) => r.mutation.id));

  return html`
    <section class="members">
      ${incoming.length > 0 && html`<${Incoming} members=${incoming} />`}
      <div class="summary card">
        <span>本支部党员 <strong id="member-count">${counts.total}</strong> 名</span>
        <span>已核查 <strong>${counts.verified}</strong></span>
        <span>未核查 <strong>${counts.total - counts.verified}</strong></span>
      </div>
      <input class="search" type="search" placeholder="搜索姓名或公民身份号码" aria-label="搜索党员" value=${q}
        onInput=${(e) => {
          setQ(e.target.value);
          setShown(PAGE);
        }} />
      <div class="filters" role="group" aria-label="按核查状态筛选">
        ${STATUS_FILTERS.map(
          ([key, label]) =>
            html`<button type="button" class=${`filter ${filter === key ? 'active' : ''}`} data-filter=${key}
              onClick=${() => {
                setFilter(key);
                setShown(PAGE);
              }}>${label}</button>`,
        )}
      </div>
      <p class="muted" id="match-count">${matches.length} 名</p>
      ${sorted.length === 0 && html`<p class="card muted">尚无党员数据。联网后会自动同步本支部的花名册。</p>`}
      <ul class="list" id="member-list">
        ${matches.slice(0, shown).map(
          (m) => html`<li key=${m.id}>
            <a href=${`#/m/${m.id}`} class="row" data-member=${m.id}>
              <span class="main">
                <strong class="name">${m.fields.name}</strong>
                <span class="muted small">${m.fields.gender ? ctx.schema.display('members', 'gender', m.fields.gender) : ''}
                  ${m.fields.birth_date ? ` · ${m.fields.birth_date.slice(0, 4)}年生` : ''}</span>
                ${proposals[m.id] && html`<span class="tags">${proposals[m.id].tags.map((t) => html`<span class="tag">${t}</span>`)}</span>`}
              </span>
              <span class="side">
                ${statusChip(m.fields)}
                ${m.pending && html`<span class="chip pending" title="有修改待上传">待上传</span>`}
                ${rejected.has(m.id) && html`<span class="chip missing">需更正</span>`}
              </span>
            </a>
          </li>`,
        )}
      </ul>
      ${matches.length > shown && html`<button class="btn wide" type="button" onClick=${() => setShown(shown + PAGE * 2)}>显示更多（还有${matches.length - shown}名）</button>`}
    </section>`;
}

/** One input for a field of the schema. */
export function FieldInput({ collection, spec, value, onChange, error, disabled, options }) {
  const id = `f-${collection}-${spec.name}`;
  let input;
  const common = { id, name: spec.name, disabled, 'aria-invalid': error ? 'true' : undefined };
  switch (spec.type) {
    case 'ref':
    case 'enum':
      input = html`<select ...${common} value=${value ?? ''} onChange=${(e) => onChange(e.target.value || null)}>
        <option value="">（未填）</option>
        ${(options ?? spec.values).map((v) => html`<option value=${v.value}>${v.label}</option>`)}
      </select>`;
      break;
    case 'enum_list':
      input = html`<div class="checks" id=${id}>
        ${spec.values.map(
          (v) => html`<label class="check"><input type="checkbox" disabled=${disabled} checked=${(value || []).includes(v.value)}
            onChange=${(e) => {
              const set = new Set(value || []);
              if (e.target.checked) set.add(v.value);
              else set.delete(v.value);
              onChange(spec.values.map((w) => w.value).filter((w) => set.has(w)));
            }} />${v.label}</label>`,
        )}
      </div>`;
      break;
    case 'bool':
      input = html`<select ...${common} value=${value === true ? 'true' : value === false ? 'false' : ''}
        onChange=${(e) => onChange(e.target.value === '' ? null : e.target.value === 'true')}>
        <option value="">（未填）</option><option value="true">是</option><option value="false">否</option>
      </select>`;
      break;
    case 'date':
      input = html`<input ...${common} type="date" value=${value ?? ''} onInput=${(e) => onChange(e.target.value || null)} />`;
      break;
    case 'int':
      input = html`<input ...${common} type="number" inputmode="numeric" min=${spec.min} max=${spec.max} value=${value ?? ''}
        onInput=${(e) => onChange(e.target.value === '' ? null : Number(e.target.value))} />`;
      break;
    case 'text':
      input =
        spec.max_length > 200
          ? html`<textarea ...${common} rows="3" maxlength=${spec.max_length} value=${value ?? ''} onInput=${(e) => onChange(e.target.value)} />`
          : html`<input ...${common} type=${spec.name.includes('phone') ? 'tel' : 'text'} maxlength=${spec.max_length} value=${value ?? ''}
              onInput=${(e) => onChange(e.target.value)} />`;
      break;
    case 'blob_list':
      // Kept photos by their hash; photos just taken as { blob, sha256, url } until saved.
      input = html`<div class="photos" id=${id}>
        ${(value || []).map((p) =>
          typeof p === 'string'
            ? html`<${BlobImage} sha256=${p} alt=${spec.label} />`
            : html`<figure class="thumb new"><img src=${p.url} alt=${spec.label} /></figure>`,
        )}
        ${!disabled &&
        html`<label class="btn small">拍照或选择照片<input type="file" accept="image/*" capture="environment" multiple hidden
          data-photos=${spec.name} onChange=${async (e) => {
            const files = [...e.target.files];
            e.target.value = '';
            const taken = [];
            for (const file of files) {
              const jpeg = await compress(file);
              taken.push({ blob: jpeg, sha256: await blobHash(jpeg), url: URL.createObjectURL(jpeg) });
            }
            onChange([...(value || []), ...taken]);
          }} /></label>`}
      </div>`;
      break;
    case 'id_number':
      input = html`<input ...${common} inputmode="text" autocomplete="off" maxlength="18" value=${value ?? ''}
        onInput=${(e) => onChange(e.target.value.toUpperCase())} />`;
      break;
    default:
      input = html`<span class="muted">${String(value ?? '')}</span>`;
  }
  return html`<div class=${`field ${error ? 'has-error' : ''}`} data-field=${spec.name}>
    <label for=${id}>${spec.label}${spec.required ? html`<span class="req" aria-label="必填">*</span>` : ''}</label>
    ${input}
    ${error && html`<p class="field-error" role="alert">${error}</p>`}
  </div>`;
}

/**
 * The choices of a field: a status only where its state machine lets the user go from the
 * stored value; a reference among the records of its collection (members by name).
 */
function optionsFor(collection, spec, stored, r) {
  const w = ctx.schema.workflow(collection, spec.name);
  if (w) {
    const next = ctx.schema.nextStates(collection, spec.name, stored, r);
    const keep = [stored ?? w.implicit];
    return spec.values.filter((v) => keep.includes(v.value) || next.includes(v.value));
  }
  if (spec.type === 'ref') {
    return [...ctx.replica.view(spec.references).values()]
      .map((x) => ({ value: x.id, label: x.fields.name || x.fields.member_name || x.id.slice(0, 8) }))
      .sort((a, b) => COLLATOR.compare(a.label, b.label));
  }
  return undefined;
}

/**
 * A record's writable fields as a form; saves only what changed, as a patch (or a put for a
 * new record). `fields`: which fields to offer, in order.
 */
export function RecordForm({ collection, record, fields, orgUnitId, onSaved, extraErrors, title, submitLabel, initial }) {
  const r = role();
  const start = record?.fields ?? {};
  const [draft, setDraft] = useState({ ...initial, ...start });
  const [errors, setErrors] = useState({});
  const [saved, setSaved] = useState(false);
  const specs = fields
    .map((n) => ctx.schema.field(collection, n))
    .filter((s) => s && (ctx.schema.canWrite(collection, s.name, r) || start[s.name] !== undefined));

  async function save(e) {
    e.preventDefault();
    const changed = {};
    // Photos wait in the replica and are named in the record once uploaded (as the form's).
    const photos = [];
    for (const s of specs) {
      if (s.type === 'blob_list') {
        for (const p of draft[s.name] || []) if (typeof p !== 'string') photos.push([s.name, p]);
        continue;
      }
      let v = draft[s.name];
      if (typeof v === 'string') v = v.trim();
      if (v === '') v = null;
      const before = record ? (start[s.name] ?? null) : null;
      if (JSON.stringify(v ?? null) !== JSON.stringify(before)) changed[s.name] = v;
    }
    if (changed.id_number) {
      const id = checkIdNumber(changed.id_number);
      if (id.ok && !id.legacy) changed.id_number = id.normalized;
    }
    const touched = Object.keys(changed);
    const after = { ...start, ...changed };
    for (const k of touched) if (after[k] === null) delete after[k];
    const found = ctx.schema.check(collection, after, touched, { creating: !record });
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    const keep = async (id) => {
      for (const [field, p] of photos) await ctx.replica.addBlob(p.sha256, p.blob, { collection, id, field, list: true });
    };
    if (!record) {
      const id = uuid7();
      await ctx.replica.enqueue({ collection, id, op: 'put', org_unit_id: orgUnitId, fields: after });
      await keep(id);
      ctx.sync.kick();
      onSaved?.(id);
      return;
    }
    if (touched.length === 0 && photos.length === 0) return;
    if (touched.length) await ctx.replica.enqueue({ collection, id: record.id, op: 'patch', fields: changed });
    await keep(record.id);
    ctx.sync.kick();
    setSaved(true);
    onSaved?.(record.id);
  }

  const shownErrors = { ...extraErrors, ...errors };
  return html`<form class="card form" onSubmit=${save} data-form=${collection}>
    ${title && html`<h2>${title}</h2>`}
    ${specs.map(
      (s) => html`<${FieldInput} key=${s.name} collection=${collection} spec=${s} value=${draft[s.name]}
        options=${optionsFor(collection, s, start[s.name], r)}
        disabled=${!ctx.schema.canWrite(collection, s.name, r)} error=${shownErrors[s.name]}
        onChange=${(v) => {
          setSaved(false);
          setDraft({ ...draft, [s.name]: v });
        }} />`,
    )}
    ${saved && html`<p class="ok-text" role="status">已保存在本机，将自动上传</p>`}
    <button class="btn primary wide" type="submit">${submitLabel || '保存'}</button>
  </form>`;
}

const MEMBER_FIELDS = [
  'name', 'gender', 'id_number', 'id_number_to_confirm', 'birth_date', 'ethnicity', 'native_place', 'phone',
  'education', 'member_type', 'join_date', 'full_member_date', 'work_unit', 'job', 'residence',
  'household_registration', 'last_activity_on', 'last_dues_paid_on', 'whereabouts_known', 'flow_out_on',
  'flow_out_reason', 'flow_destination', 'lost_at_start', 'lost_at_start_reason', 'contact_while_away', 'retired', 'relationship_uninterrupted', 'org_category', 'cadre_file',
  'on_roster', 'archive_checked_on', 'dues_checked_on', 'transfer_checked_on', 'performance_checked_on',
  'remote_reason', 'confirmation_exception', 'remarks',
];

/** The five checks (docs/domain.md §4) and where this member stands in each: done when the
 * branch recorded the day (or a record shows it), with that day. Who did it is in the server's
 * change log (the console shows it, `GET /v1/members/{id}/checks`). */
function FiveChecks({ member }) {
  const f = member.fields;
  const forms = [...ctx.replica.view('info_forms').values()].filter((x) => x.fields.member_id === member.id);
  const reviews = [...ctx.replica.view('archive_reviews').values()].filter((x) => x.fields.member_id === member.id);
  const transfers = [...ctx.replica.view('transfers').values()].filter((x) => x.fields.member_id === member.id);
  const checks = [...ctx.replica.view('performance_checks').values()].filter((x) => x.fields.member_id === member.id);
  const done = (ok, text, day) =>
    html`<span class=${ok ? 'ok-text' : 'muted'}>${ok ? '✓ ' : ''}${text}${day ? ` · ${date(day)}` : ''}</span>`;
  const roster = (f.roster_status ?? 'unverified') !== 'unverified';
  const formText = forms.length ? ` · 采集表${forms.length}份${forms.some(formComplete) ? '' : '（未齐全）'}` : '';
  const exception = f.confirmation_exception ? ` · 例外：${f.confirmation_exception}` : '';
  return html`<ol class="checks-list card" data-checks>
    <li data-check="roster"><strong>核查党员名册</strong> ${done(
      roster,
      `${ctx.schema.display('members', 'roster_status', f.roster_status ?? 'unverified')}${formText}${exception}`,
      roster ? f.checked_on : null,
    )}</li>
    <li data-check="archive"><strong>核查党员档案</strong> ${done(Boolean(f.archive_checked_on) || reviews.length > 0 || f.cadre_file === true,
      reviews.length ? ctx.schema.display('archive_reviews', 'status', reviews[0].fields.status ?? 'requested') : f.cadre_file ? '干部人事档案' : f.archive_checked_on ? '已核查' : '未核查',
      f.archive_checked_on)}</li>
    <li data-check="dues"><strong>核查党费交纳和组织生活</strong> ${done(Boolean(f.dues_checked_on),
      `最后交纳党费 ${date(f.last_dues_paid_on) || '未填'} · 最后参加组织生活 ${date(f.last_activity_on) || '未填'}`, f.dues_checked_on)}</li>
    <li data-check="transfer"><strong>核查组织关系接转</strong> ${done(Boolean(f.transfer_checked_on) || transfers.length > 0,
      transfers.length ? `转出明细${transfers.length}条` : f.transfer_checked_on ? '已核查' : '未核查', f.transfer_checked_on)}</li>
    <li data-check="performance"><strong>核查现实表现</strong> ${done(Boolean(f.performance_checked_on) || checks.length > 0,
      checks.length ? `核查${checks.length}次` : f.performance_checked_on ? '已核查' : '未核查', f.performance_checked_on)}</li>
  </ol>`;
}

/** Whether an information form is complete and signed for its way of confirming (§8.7). */
export function formComplete(form) {
  const f = form.fields ?? form;
  const base = (f.copies ?? 0) >= 3 && (f.photos ?? []).length >= 3;
  switch (f.confirmation_mode) {
    case 'on_site': return base && Boolean(f.signature && f.fingerprint && f.flag_photo);
    case 'post': case 'fax': case 'email': return base && Boolean(f.signature && f.fingerprint);
    case 'assisted_home_visit': return base && Boolean(f.signature || f.fingerprint);
    default: return false;
  }
}

/** The information form modes that confirm a member in each `confirmed_*` state. */
const CONFIRMING = {
  confirmed_on_site: ['on_site'],
  confirmed_remote: ['post', 'fax', 'email'],
  confirmed_assisted: ['assisted_home_visit'],
};

/** The moves of the roster and contact state machines the user may make from here. A
 * confirmation needs a complete, signed form of its kind (the form sets it when saved); without
 * one, the branch records why (无完整采集表确认的理由), and a remote one why the member could
 * not come. */
function Steps({ member }) {
  const r = role();
  const f = member.fields;
  const roster = ctx.schema.nextStates('members', 'roster_status', f.roster_status, r);
  const contact = ctx.schema.nextStates('members', 'contact_status', f.contact_status, r);
  const [asking, setAsking] = useState(null);
  const [reason, setReason] = useState(f.confirmation_exception ?? '');
  const [remote, setRemote] = useState(f.remote_reason ?? '');
  const [errors, setErrors] = useState({});
  const forms = [...ctx.replica.view('info_forms').values()].filter((x) => x.fields.member_id === member.id);
  async function move(field, value, extra = {}) {
    const fields = { [field]: value, ...extra };
    // A member pending because lost is lost in contact too (docs/domain.md §6.2).
    if (field === 'roster_status' && value === 'pending_lost' && ctx.schema.nextStates('members', 'contact_status', f.contact_status, r).includes('lost')) {
      fields.contact_status = 'lost';
    }
    await ctx.replica.enqueue({ collection: 'members', id: member.id, op: 'patch', fields });
    ctx.sync.kick();
  }
  function step(to) {
    const modes = CONFIRMING[to];
    const byForm = modes && forms.some((x) => modes.includes(x.fields.confirmation_mode) && formComplete(x));
    if (!modes || (byForm && (to !== 'confirmed_remote' || f.remote_reason))) return move('roster_status', to);
    setErrors({});
    setAsking(to);
  }
  async function confirm() {
    const found = {};
    const modes = CONFIRMING[asking];
    const byForm = forms.some((x) => modes.includes(x.fields.confirmation_mode) && formComplete(x));
    if (!byForm && !reason.trim()) found.confirmation_exception = '没有完整并经本人签字的采集表，请填写确认的理由';
    if (asking === 'confirmed_remote' && !remote.trim()) found.remote_reason = '远程确认须填写原因（确有困难无法到场）';
    setErrors(found);
    if (Object.keys(found).length) return;
    const extra = {};
    if (!byForm) extra.confirmation_exception = reason.trim();
    if (asking === 'confirmed_remote') extra.remote_reason = remote.trim();
    await move('roster_status', asking, extra);
    setAsking(null);
  }
  return html`<div class="card steps">
    <h2>核查操作</h2>
    <div class="buttons">
      ${roster.map(
        (to) => html`<button type="button" class=${`btn ${VERIFIED.includes(to) ? 'primary' : ''}`} data-step=${to}
          onClick=${() => step(to)}>${ctx.schema.display('members', 'roster_status', to)}</button>`,
      )}
      <a class="btn" href=${`#/m/${member.id}/form`} id="open-form">填写党员信息采集表</a>
    </div>
    ${asking && html`<div class="confirm-ask" data-asking=${asking}>
      <p class="muted small">确认党员信息应有相应方式、材料齐全并经本人签字的采集表（可点「填写党员信息采集表」）。
        确有特殊情况的，填写理由后确认，理由随记录上报。</p>
      ${asking === 'confirmed_remote' && html`<div class="field">
        <label for="confirm-remote-reason">远程确认原因</label>
        <input id="confirm-remote-reason" value=${remote} onInput=${(e) => setRemote(e.target.value)} placeholder="如：在外地务工，无法返回" />
        ${errors.remote_reason && html`<p class="field-error">${errors.remote_reason}</p>`}
      </div>`}
      <div class="field">
        <label for="confirm-exception">无完整采集表确认的理由</label>
        <input id="confirm-exception" value=${reason} onInput=${(e) => setReason(e.target.value)} />
        ${errors.confirmation_exception && html`<p class="field-error">${errors.confirmation_exception}</p>`}
      </div>
      <div class="buttons">
        <button type="button" class="btn primary" id="confirm-step" onClick=${confirm}>确认为「${ctx.schema.display('members', 'roster_status', asking)}」</button>
        <button type="button" class="btn" onClick=${() => setAsking(null)}>取消</button>
      </div>
    </div>`}
    ${contact.length > 0 && html`<p class="muted small">联系状态：${ctx.schema.display('members', 'contact_status', f.contact_status ?? 'normal')}</p>
      <div class="buttons">
        ${contact.map((to) => html`<button type="button" class="btn small" data-contact=${to} onClick=${() => move('contact_status', to)}>
          改为「${ctx.schema.display('members', 'contact_status', to)}」</button>`)}
      </div>`}
  </div>`;
}

function Cases({ member }) {
  const replica = useReplica();
  const cases = [...replica.view('contact_cases').values()].filter((c) => c.fields.member_id === member.id);
  const attempts = [...replica.view('contact_attempts').values()];
  const lostLike = ['lost', 'searching', 'still_lost'].includes(member.fields.contact_status) || member.fields.roster_status === 'pending_lost';
  if (!lostLike && cases.length === 0) return null;
  async function openCase() {
    await replica.enqueue({
      collection: 'contact_cases',
      id: uuid7(),
      op: 'put',
      org_unit_id: member.org_unit_id,
      fields: {
        member_id: member.id,
        result: 'searching',
        last_activity_on: member.fields.last_activity_on,
        last_dues_paid_on: member.fields.last_dues_paid_on,
      },
    });
    ctx.sync.kick();
  }
  return html`<section class="card cases">
    <h2>失联党员查找</h2>
    ${cases.length === 0 && html`<button class="btn primary" type="button" id="open-case" onClick=${openCase}>开展查找</button>`}
    ${cases.map((c) => {
      const mine = attempts
        .filter((a) => a.fields.case_id === c.id)
        .sort((a, b) => (a.fields.attempted_on < b.fields.attempted_on ? 1 : -1));
      const next = ctx.schema.nextStates('contact_cases', 'result', c.fields.result, role());
      return html`<div class="case" data-case=${c.id}>
        <p>查找结果：<strong>${ctx.schema.display('contact_cases', 'result', c.fields.result ?? 'searching')}</strong>
          ${c.pending && html` <span class="chip pending">待上传</span>`}</p>
        <ul class="attempts">
          ${mine.map((a) => html`<li data-attempt=${a.id}>${date(a.fields.attempted_on)} ·
            ${ctx.schema.display('contact_attempts', 'method', a.fields.method)}
            ${a.fields.channel ? `（${ctx.schema.display('contact_attempts', 'channel', a.fields.channel)}）` : ''} ·
            ${ctx.schema.display('contact_attempts', 'result', a.fields.result)}
            ${a.pending && html` <span class="chip pending">待上传</span>`}</li>`)}
          ${mine.length === 0 && html`<li class="muted">尚无查找记录</li>`}
        </ul>
        <div class="buttons">
          <a class="btn primary" href=${`#/m/${member.id}/attempt/${c.id}`} data-add-attempt=${c.id}>新增查找记录</a>
          ${next.filter((to) => to !== 'found').map((to) => html`<button class="btn small" type="button"
            onClick=${async () => {
              await replica.enqueue({ collection: 'contact_cases', id: c.id, op: 'patch', fields: { result: to } });
              ctx.sync.kick();
            }}>标记为「${ctx.schema.display('contact_cases', 'result', to)}」</button>`)}
        </div>
      </div>`;
    })}
  </section>`;
}

/** Conflicts on this record: this device's merged edits, and (for reviewers, online) the server's log. */
function Conflicts({ member }) {
  const replica = useReplica();
  const [server, setServer] = useState([]);
  // Only reviewers read the server's conflict log (docs/protocol.md §8): a working group's
  // member asks nothing it would be refused.
  const reviewer = replica.get('user')?.role === 'branch_secretary';
  useEffect(() => {
    if (!reviewer) return;
    api
      .get('/v1/conflicts', { collection: 'members', id: member.id })
      .then((r) => setServer(r.conflicts ?? r))
      .catch(() => setServer([]));
  }, [member.id, member.version]);
  const local = replica.conflicts.filter((c) => c.collection === 'members' && c.id === member.id);
  if (local.length === 0 && server.length === 0) return null;
  const label = (f) => ctx.schema.label('members', f);
  const show = (f, v) => ctx.schema.display('members', f, v) || '（空）';
  return html`<section class="card conflicts" id="conflicts">
    <h2>修改冲突</h2>
    ${local.map((c) => html`<div class="conflict">
      ${c.conflicts.map((x) => html`<p>本机对「${label(x.field)}」的修改覆盖了他人同时所做的修改（原值：${show(x.field, x.overwritten_value)}）。</p>`)}
      <button class="btn small" type="button" onClick=${() => replica.dismiss('conflicts', c.mutation_id)}>知道了</button>
    </div>`)}
    ${server.map((x) => html`<p class="server-conflict">「${label(x.field)}」：「${show(x.field, x.overwritten_value)}」被「${show(x.field, x.winning_value)}」覆盖${x.resolved_at ? '（已处理）' : ''}。</p>`)}
  </section>`;
}

export function MemberPage({ id }) {
  const replica = useReplica();
  const member = replica.record('members', id);
  const [editing, setEditing] = useState(false);
  if (!member) return html`<p class="card">找不到该党员（可能尚未同步）。<a href="#/">返回</a></p>`;
  const rejections = rejectionsOf('members', id);
  const fieldErrors = {};
  for (const r of rejections) if (r.error.field) fieldErrors[r.error.field] = r.error.message;
  const open = editing || rejections.length > 0;
  const f = member.fields;
  return html`<section class="member" data-member=${id}>
    <a href="#/" class="back">‹ 党员列表</a>
    <div class="card head">
      <h1>${f.name}</h1>
      <p>${statusChip(f)} ${member.pending && html`<span class="chip pending">有修改待上传</span>`}</p>
      <p class="muted">${[ctx.schema.display('members', 'gender', f.gender), f.id_number, f.phone].filter(Boolean).join(' · ')}</p>
    </div>
    ${rejections.length > 0 && html`<div class="card rejected" role="alert">
      <h2>以下修改未被服务器接受，请更正后重新保存</h2>
      ${rejections.map((r) => html`<p class="field-error">${r.error.field ? `「${ctx.schema.label('members', r.error.field)}」：` : ''}${r.error.message}
        <button class="btn small" type="button" onClick=${() => replica.dismiss('rejections', r.mutation_id)}>知道了</button></p>`)}
    </div>`}
    <${Conflicts} member=${member} />
    <${Steps} member=${member} />
    <${FiveChecks} member=${member} />
    <${Cases} member=${member} />
    ${open
      ? html`<${RecordForm} key=${`${member.version}-${rejections.length}`} collection="members" record=${member} fields=${MEMBER_FIELDS}
          title="党员信息" extraErrors=${fieldErrors} onSaved=${async () => {
            for (const r of rejections) await replica.dismiss('rejections', r.mutation_id);
            setEditing(false);
          }} />`
      : html`<button class="btn wide" type="button" id="edit-member" onClick=${() => setEditing(true)}>修改党员信息</button>`}
  </section>`;
}

/** A search attempt for a contact case (查找记录). */
export function AttemptForm({ memberId, caseId }) {
  const replica = useReplica();
  const member = replica.record('members', memberId);
  const [draft, setDraft] = useState({ attempted_on: chinaToday(), method: 'direct', result: 'no_lead' });
  const [errors, setErrors] = useState({});
  if (!member) return html`<p class="card">找不到该党员。</p>`;
  const spec = (n) => ctx.schema.field('contact_attempts', n);
  const channelSpec = spec('channel');
  const channels = channelSpec.values.filter((v) => ctx.schema.channelsOf(draft.method).includes(v.value));
  const set = (n) => (v) => setDraft({ ...draft, [n]: v, ...(n === 'method' ? { channel: null } : {}) });
  // A branch asks for a department search through a request; the committee records it.
  const methods = spec('method').values.filter((v) => v.value !== 'department' || role() === 'committee_admin');
  async function save(e) {
    e.preventDefault();
    const fields = { case_id: caseId };
    for (const [k, v] of Object.entries(draft)) if (v !== null && v !== '' && v !== undefined) fields[k] = typeof v === 'string' ? v.trim() : v;
    const found = ctx.schema.check('contact_attempts', fields, Object.keys(fields), { creating: true });
    setErrors(found);
    if (Object.keys(found).length) return;
    await replica.enqueue({ collection: 'contact_attempts', id: uuid7(), op: 'put', org_unit_id: member.org_unit_id, fields });
    ctx.sync.kick();
    location.hash = `#/m/${memberId}`;
  }
  return html`<form class="card form" onSubmit=${save} data-form="contact_attempts">
    <a href=${`#/m/${memberId}`} class="back">‹ ${member.fields.name}</a>
    <h1>新增查找记录</h1>
    <${FieldInput} collection="contact_attempts" spec=${spec('attempted_on')} value=${draft.attempted_on} onChange=${set('attempted_on')} error=${errors.attempted_on} />
    <${FieldInput} collection="contact_attempts" spec=${spec('operator')} value=${draft.operator} onChange=${set('operator')} error=${errors.operator} />
    <${FieldInput} collection="contact_attempts" spec=${spec('method')} value=${draft.method} options=${methods} onChange=${set('method')} error=${errors.method} />
    <${FieldInput} collection="contact_attempts" spec=${channelSpec} value=${draft.channel} options=${channels} onChange=${set('channel')} error=${errors.channel} />
    <${FieldInput} collection="contact_attempts" spec=${spec('channel_detail')} value=${draft.channel_detail} onChange=${set('channel_detail')} error=${errors.channel_detail} />
    <${FieldInput} collection="contact_attempts" spec=${spec('result')} value=${draft.result} onChange=${set('result')} error=${errors.result} />
    <${FieldInput} collection="contact_attempts" spec=${spec('contact_obtained')} value=${draft.contact_obtained} onChange=${set('contact_obtained')} error=${errors.contact_obtained} />
    <button class="btn primary wide" type="submit">保存查找记录</button>
  </form>`;
}
