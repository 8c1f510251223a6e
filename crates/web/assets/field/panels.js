// The other screens of the field app: the transfers the street sent down to this branch (转出
// 明细) with their receipt follow-up, the branch's ledger A/B entries, and the sync panel.

import { html, useState, useEffect } from '../core/ui.js';
import { api } from '../core/api.js';
import { date } from '../core/format.js';
import { ctx, useReplica, useSyncState, myBranch } from './app.js';
import { RecordForm, rejectionsOf } from './members.js';
import { maxEdge } from './form.js';


function collectionLabel(name) {
  return ctx.schema.collection(name)?.label ?? name;
}

export function Transfers() {
  const replica = useReplica();
  const { lastSync } = useSyncState();
  const [open, setOpen] = useState(null);
  const branch = myBranch();
  const list = [...replica.view('transfers').values()]
    .filter((t) => t.fields.branch_id === branch)
    .sort((a, b) => (a.fields.transferred_on || '') < (b.fields.transferred_on || '') ? 1 : -1);
  // A transfer the street's corrected list no longer holds is withdrawn: shown, owed nothing.
  const live = list.filter((t) => !t.fields.withdrawn_on);
  const waiting = live.filter((t) => !['receipt_received', 'receipt_reissued'].includes(t.fields.receipt_status));
  const [gone, setGone] = useState([]);
  useEffect(() => {
    let alive = true;
    // What left the branch (a transfer re-addressed to another branch): read when online.
    api.get('/v1/departures').then(
      (r) => alive && setGone(r.items.filter((d) => d.collection === 'transfers')),
      () => {},
    );
    return () => {
      alive = false;
    };
  }, [lastSync]);
  return html`<section class="transfers">
    <h1>转出党员跟进</h1>
    <p class="muted">街道下发给本支部的转出明细 ${live.length} 条，其中尚未收到回执 ${waiting.length} 条${
      list.length > live.length ? `；另有已撤回 ${list.length - live.length} 条` : ''}。</p>
    ${gone.length > 0 && html`<div class="card notice" data-departures>
      <h2>已移交</h2>
      <ul>${gone.map((d) => html`<li key=${d.record_id + d.version}>
        <strong>${d.label || '（未具名）'}</strong>：${d.reason_label}${d.to_unit_name ? `（${d.to_unit_name}）` : ''}
        <span class="muted small">${date(d.left_at.slice(0, 10))}</span></li>`)}</ul>
    </div>`}
    ${list.length === 0 && html`<p class="card muted">暂无下发给本支部的转出明细。</p>`}
    <ul class="list">
      ${list.map((t) => {
        const errors = {};
        for (const r of rejectionsOf('transfers', t.id)) if (r.error.field) errors[r.error.field] = r.error.message;
        return html`<li key=${t.id} data-transfer=${t.id}>
          <button type="button" class="row" onClick=${() => setOpen(open === t.id ? null : t.id)}>
            <span class="main"><strong>${t.fields.member_name}</strong>
              <span class="muted small">${date(t.fields.transferred_on)} 转往 ${t.fields.receiving_organization || '（未填接收党组织）'}</span></span>
            <span class="side">${t.fields.withdrawn_on
              ? html`<span class="chip">已撤回</span>`
              : html`<span class="chip open">${ctx.schema.display('transfers', 'receipt_status', t.fields.receipt_status ?? 'issued')}</span>`}
              ${t.pending && html`<span class="chip pending">待上传</span>`}</span>
          </button>
          ${(open === t.id || Object.keys(errors).length > 0) &&
          html`<${RecordForm} key=${t.version} collection="transfers" record=${t} extraErrors=${errors}
            fields=${['receipt_status', 'receipt_on', 'member_id', 'follow_up_note', 'registered_lost']} submitLabel="保存跟进情况" />`}
        </li>`;
      })}
    </ul>
  </section>`;
}

const LEDGER_FIELDS = {
  // Every column the registers print that the branch fills (domain::ledger), with the evidence.
  ledger_a: [
    'name', 'gender', 'birth_date', 'id_number', 'residence', 'phone', 'join_date', 'joining_organization',
    'full_member_date', 'has_transfer_letter', 'transfer_letter_issuer', 'transfer_letter_no', 'transfer_letter_date',
    'has_application_form', 'application_form_location', 'archive_status', 'reason_not_on_roster', 'evidence',
    'proposed_action', 'branch_opinion', 'remarks',
  ],
  ledger_b: [
    'member_id', 'name', 'gender', 'birth_date', 'id_number', 'join_date', 'surplus_reason', 'event_date', 'evidence',
    'proposed_action', 'branch_opinion', 'remarks',
  ],
};

export function Ledger() {
  const replica = useReplica();
  const [adding, setAdding] = useState(null);
  const entries = [...replica.view('roster_ledger_entries').values()];
  const can = ctx.schema.canCreate('roster_ledger_entries', replica.get('user').role);
  return html`<section class="ledger">
    <h1>花名册核查台帐</h1>
    ${['ledger_a', 'ledger_b'].map((kind) => {
      const mine = entries.filter((e) => e.fields.ledger === kind);
      return html`<div class="card" data-ledger=${kind}>
        <h2>${ctx.schema.display('roster_ledger_entries', 'ledger', kind)}（${mine.length}）</h2>
        ${mine.length === 0 && html`<p class="muted">暂无条目。</p>`}
        <ul class="plain">
          ${mine.map((e) => html`<li>${e.fields.name} ${e.fields.outcome ? html`<span class="chip on_time">${ctx.schema.display('roster_ledger_entries', 'outcome', e.fields.outcome)}</span>` : ''}
            ${e.pending && html`<span class="chip pending">待上传</span>`}</li>`)}
        </ul>
        ${can && adding !== kind && html`<button class="btn" type="button" data-add-ledger=${kind} onClick=${() => setAdding(kind)}>新增条目</button>`}
        ${adding === kind &&
        html`<${RecordForm} collection="roster_ledger_entries" record=${null} orgUnitId=${myBranch()}
          fields=${['ledger', ...LEDGER_FIELDS[kind]]} title="新增台帐条目"
          initial=${{ ledger: kind }} onSaved=${() => setAdding(null)} />`}
      </div>`;
    })}
  </section>`;
}

function describe(m) {
  const rec = ctx.replica.record(m.collection, m.id);
  const who = rec?.fields.name || rec?.fields.member_name || '';
  return `${ctx.schema.word('audit_ops', m.op)}${collectionLabel(m.collection)}${who ? `「${who}」` : ''}`;
}

function linkTo(m) {
  if (m.collection === 'members') return `#/m/${m.id}`;
  const rec = ctx.replica.record(m.collection, m.id);
  if (rec?.fields.member_id) return `#/m/${rec.fields.member_id}`;
  if (m.collection === 'transfers') return '#/transfers';
  return '#/sync';
}

/** Edits, photos and signatures this phone has not yet sent (a photo counts until the server
 * has it and its record names it). */
function unsent() {
  const r = ctx.replica;
  const blobs = new Set([...r.pendingBlobs().map((b) => b.sha256), ...r.links.filter((l) => l.sha256).map((l) => l.sha256)]);
  return r.outbox.length + blobs.size;
}

/** Sends what waits, then signs out and clears the phone; if it cannot all be sent within a
 * minute, says so and signs out of nothing. */
async function sendThenSignOut(setLeaving, onSignOut) {
  setLeaving('正在上传……');
  const until = Date.now() + 60000;
  while (unsent() > 0 && Date.now() < until) {
    ctx.sync.kick();
    await new Promise((ok) => setTimeout(ok, 500));
  }
  if (unsent() > 0) {
    setLeaving('未能全部上传（请检查网络）。可稍后再试，或选择保留在本机后退出。');
    return;
  }
  setLeaving('');
  await onSignOut(true);
}

export function SyncPanel({ onSignOut }) {
  const replica = useReplica();
  const s = useSyncState();
  const [online, setOnline] = useState(api.online);
  // Signing out clears this phone's data unless the user keeps it; never unsent edits.
  const [keep, setKeep] = useState(false);
  const [asking, setAsking] = useState(false);
  const [leaving, setLeaving] = useState('');
  useEffect(() => {
    if (asking) document.getElementById('unsent-warning')?.scrollIntoView({ block: 'center' });
  }, [asking]);
  const [checking, setChecking] = useState('');
  const [edge, setEdge] = useState(maxEdge());
  useEffect(() => api.subscribe((x) => setOnline(x.online)), []);
  // A photo counts until the server has it and its record names it.
  const pendingBlobs = [...new Set([...replica.pendingBlobs().map((b) => b.sha256), ...replica.links.filter((l) => l.sha256).map((l) => l.sha256)])];
  async function check() {
    setChecking('正在核对……');
    try {
      const repaired = await ctx.sync.maybeCheck(true);
      setChecking(repaired === null ? '服务器数据正在变化，请稍后再核对' : repaired.length ? `已重新同步：${repaired.map(collectionLabel).join('、')}` : '本机数据与服务器一致');
    } catch (e) {
      setChecking(e.message);
    }
  }
  return html`<section class="sync-panel">
    <h1>同步</h1>
    <div class="card">
      <p>网络：<strong id="net-state">${online ? '在线' : '离线'}</strong></p>
      <p>上次同步：<span id="last-sync">${s.lastSync ? new Date(s.lastSync).toLocaleString('zh-CN') : '尚未同步'}</span></p>
      ${s.lastPull && html`<p id="last-pull" data-changes=${s.lastPull.changes} data-ms=${s.lastPull.ms}>上次接收：${s.lastPull.changes} 条，${s.lastPull.pages} 页，用时 ${s.lastPull.ms} 毫秒</p>`}
      <p>待上传的修改：<strong id="outbox-count">${replica.outbox.length}</strong> 条</p>
      <p>待上传的照片和签名：<strong id="blob-count">${pendingBlobs.length}</strong> 个
        ${s.uploading && html`（正在上传 ${Math.round((100 * s.uploading.received) / s.uploading.total)}%）`}</p>
      ${s.error && !online && html`<p class="muted">无法连接服务器，修改已保存在本机，恢复网络后自动上传。</p>`}
      <div class="buttons">
        <button class="btn primary" type="button" id="sync-now" onClick=${() => ctx.sync.kick()}>立即同步</button>
        <button class="btn" type="button" id="check-now" onClick=${check}>核对数据完整性</button>
      </div>
      ${checking && html`<p role="status" id="check-result">${checking}</p>`}
    </div>
    <div class="card" id="needs-correction">
      <h2>需更正的记录（${replica.rejections.length}）</h2>
      ${replica.rejections.length === 0 && html`<p class="muted">没有。</p>`}
      ${replica.rejections.map((r) => html`<p><a href=${linkTo(r.mutation)}>${describe(r.mutation)}</a>：<span class="error-text">${r.error.message}</span></p>`)}
    </div>
    <div class="card">
      <h2>修改冲突（${replica.conflicts.length}）</h2>
      ${replica.conflicts.length === 0 && html`<p class="muted">没有。</p>`}
      ${replica.conflicts.map((c) => html`<p><a href=${linkTo(c)}>${describe({ ...c, op: 'patch' })}</a>：覆盖了他人对
        ${c.conflicts.map((x) => `「${ctx.schema.label(c.collection, x.field)}」`).join('')}的修改</p>`)}
    </div>
    <div class="card">
      <h2>待上传的修改</h2>
      ${replica.outbox.length === 0 && html`<p class="muted">全部已上传。</p>`}
      <ul class="plain">${replica.outbox.slice(0, 50).map((m) => html`<li>${describe(m)}</li>`)}</ul>
    </div>
    <div class="card">
      <h2>设置</h2>
      <div class="field">
        <label for="max-edge">照片最长边（像素）</label>
        <input id="max-edge" type="number" min="640" max="4000" step="100" value=${edge}
          onChange=${(e) => {
            const v = Math.min(4000, Math.max(640, Number(e.target.value) || 1600));
            localStorage.setItem('paicha.field.max_edge', String(v));
            setEdge(v);
          }} />
      </div>
      <p class="muted small">本机编号：${replica.deviceId}</p>
    </div>
    <div class="card" id="sign-out-card">
      <h2>退出登录</h2>
      <p class="muted small">退出时默认清除本机保存的党员资料、照片和缓存。</p>
      <label class="check"><input type="checkbox" id="keep-data" checked=${keep} onChange=${(e) => setKeep(e.target.checked)} />保留本机数据（下次登录可继续使用）</label>
      <button class="btn wide" type="button" id="sign-out" disabled=${Boolean(leaving)}
        onClick=${() => (!keep && unsent() > 0 ? setAsking(true) : onSignOut(!keep))}>退出登录</button>
      ${asking && html`
        <div class="notice" id="unsent-warning" role="alert">
          <p>还有${[replica.outbox.length && `${replica.outbox.length}条修改`, pendingBlobs.length && `${pendingBlobs.length}个照片和签名`].filter(Boolean).join('、')}未上传，清除本机数据会丢失。</p>
          <button class="btn primary wide" type="button" id="send-then-sign-out" disabled=${Boolean(leaving)}
            onClick=${() => sendThenSignOut(setLeaving, onSignOut)}>先上传，再退出并清除</button>
          <button class="btn wide" type="button" id="keep-and-sign-out" disabled=${Boolean(leaving)}
            onClick=${() => onSignOut(false)}>保留在本机，退出登录（下次登录后自动上传）</button>
        </div>`}
      ${leaving && html`<p role="status" id="leaving">${leaving}</p>`}
    </div>
  </section>`;
}
