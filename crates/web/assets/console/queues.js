// 待办: what waits for this user's decision, each item acted on in place through the push.
// For now: ledger submissions for the 组织办 to audit (approve, or return with an opinion).

import { html, useState, useEffect } from '../core/ui.js';
import { api } from '../core/api.js';
import { pullAll, patch } from '../core/records.js';
import { onChange } from '../core/live.js';
import { chinaToday, date } from '../core/format.js';

const LEDGER = { ledger_a: '台帐A（不在花名册党员）', ledger_b: '台帐B（花名册多余人员）' };

/** The ledger submissions waiting for the 组织办, with the work areas' names. */
export async function loadQueue() {
  const [records, units] = await Promise.all([
    pullAll(['ledger_submissions']),
    api.get('/v1/org-units'),
  ]);
  const names = new Map(units.org_units.map((u) => [u.id, u.name]));
  return [...records.values()]
    .filter((r) => r.fields.status === 'submitted')
    .map((r) => ({ ...r, unitName: names.get(r.org_unit_id) || '' }))
    .sort((a, b) => (a.fields.received_on || '').localeCompare(b.fields.received_on || ''));
}

function Submission({ item, canAudit, onDone }) {
  const [opinion, setOpinion] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  async function act(status) {
    setBusy(true);
    setError('');
    try {
      const fields = { status, audited_on: chinaToday() };
      if (opinion.trim()) fields.audit_opinion = opinion.trim();
      await patch(item, fields);
      onDone();
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy(false);
    }
  }
  const f = item.fields;
  return html`
    <li class="card queue-item" data-record=${item.id}>
      <div>
        <h3>${item.unitName} · ${LEDGER[f.ledger] || f.ledger}</h3>
        <p class="muted small">
          组织办收到：${date(f.received_on) || '—'}　条目数：${f.entry_count ?? '—'}
        </p>
      </div>
      ${canAudit &&
      html`<div class="queue-actions">
        <label class="sr-only" for="opinion-${item.id}">审核意见</label>
        <input id="opinion-${item.id}" class="opinion" placeholder="审核意见（退回时必填）"
          value=${opinion} onInput=${(e) => setOpinion(e.target.value)} />
        <button class="btn primary" data-action="approve" disabled=${busy} onClick=${() => act('approved')}>审核通过</button>
        <button class="btn" data-action="return" disabled=${busy} onClick=${() => act('returned')}>退回</button>
      </div>`}
      ${error && html`<p class="error-text" role="alert" data-error>${error}</p>`}
    </li>`;
}

export function Queues({ role }) {
  const [items, setItems] = useState(null);
  const [error, setError] = useState('');
  const [round, setRound] = useState(0);
  useEffect(() => onChange(() => setRound((n) => n + 1)), []);
  useEffect(() => {
    let alive = true;
    loadQueue().then(
      (list) => {
        if (!alive) return;
        setItems(list);
      },
      (e) => alive && setError(e.message),
    );
    return () => {
      alive = false;
    };
  }, [round]);
  const canAudit = role === 'org_office';
  return html`
    <div class="queues">
      <h1>待办</h1>
      <section class="card">
        <h2>待审核的台帐报送 ${items && html`<span class="badge">${items.length}</span>`}</h2>
        ${error && html`<p class="error-text" role="alert">${error}</p>`}
        ${!items && !error && html`<p class="muted">正在加载……</p>`}
        ${items && items.length === 0 && html`<p class="muted">没有待审核的台帐报送。</p>`}
        ${!canAudit && items && items.length > 0 && html`<p class="muted small">台帐由组织办审核。</p>`}
        <ul class="queue-list">
          ${(items || []).map(
            (item) => html`<${Submission} key=${item.id} item=${item} canAudit=${canAudit}
              onDone=${() => setRound((n) => n + 1)} />`,
          )}
        </ul>
      </section>
    </div>`;
}
