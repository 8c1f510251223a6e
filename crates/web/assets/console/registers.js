// 台帐: the registers of the unit shown, as Excel workbooks or CSV files. Registers A and B go
// in per work area (台帐报送): beside them, each submission handed in at or below the unit
// (printable on its own: what it submitted and what was approved), the entries not yet
// submitted, and the steps of the audit round trip the user's role takes (docs/domain.md
// §8.16): the 组织办 reopens an approved submission with its reason; the work area submits,
// submits again what was returned or reopened, and hands in a 补报 of entries added since.

import { html, useState, useEffect } from '../core/ui.js';
import { api, saveBlob } from '../core/api.js';
import { patch, put } from '../core/records.js';
import { onChange } from '../core/live.js';
import { chinaToday } from '../core/format.js';

export const REGISTERS = [
  ['ledger_a', '不在花名册党员初审信息台帐', '台帐A：核查中发现、不在花名册上的党员'],
  ['ledger_b', '党员花名册多余人员信息台帐', '台帐B：在花名册上、但不应在册的人员'],
  ['lost_contact_register', '失联党员登记册', '全部失联党员的查找情况'],
  ['found_register', '经查找取得联系党员登记表', '经查找已取得联系的党员'],
  ['still_lost_register', '经查找仍然无法取得联系党员登记表', '经查找仍无法取得联系的党员'],
  ['roster', '党员花名册', '本单位在册党员'],
  ['mobile_register', '流动党员登记册', '流动党员的流出时间、原因和去向'],
];

/** The registers handed in per work area, by submission. */
const BY_SUBMISSION = ['ledger_a', 'ledger_b'];

/** Registers A and B as the server lists them (`sections`, `unsubmitted`), kept current. */
function useSubmissions(unitId) {
  const [tables, setTables] = useState({});
  const [round, setRound] = useState(0);
  useEffect(() => onChange(() => setRound((n) => n + 1)), []);
  useEffect(() => {
    let alive = true;
    Promise.all(
      BY_SUBMISSION.map((kind) =>
        api.get(`/v1/ledgers/${kind}`, { org_unit_id: unitId, format: 'json' }).then((t) => [kind, t]),
      ),
    ).then(
      (all) => alive && setTables(Object.fromEntries(all)),
      () => {},
    );
    return () => {
      alive = false;
    };
  }, [unitId, round]);
  return [tables, () => setRound((n) => n + 1)];
}

/** A ledger's submissions and its entries not yet submitted, with the steps the role takes. */
function Submissions({ kind, title, table, role, unitId, unitKind, download, busy, onDone }) {
  const [reasons, setReasons] = useState({});
  const [error, setError] = useState('');
  const [acting, setActing] = useState(false);
  const sections = table.sections || [];
  // The work area's own steps, on its own page.
  const staff = role === 'work_area_staff' && unitKind === 'work_area';
  const waiting = sections.some((s) => s.status === 'returned' || s.status === 'reopened');
  async function act(fn) {
    setActing(true);
    setError('');
    try {
      await fn();
      onDone();
    } catch (e) {
      setError(e.message);
    } finally {
      setActing(false);
    }
  }
  const record = (s) => ({ collection: 'ledger_submissions', id: s.submission_id });
  const reopen = (s) =>
    act(() => {
      const fields = { status: 'reopened' };
      const reason = (reasons[s.submission_id] || '').trim();
      if (reason) fields.reopen_reason = reason;
      return patch(record(s), fields);
    });
  const resubmit = (s) => act(() => patch(record(s), { status: 'submitted', submitted_on: chinaToday() }));
  const submit = () => act(() => put('ledger_submissions', unitId, { ledger: kind, status: 'submitted', submitted_on: chinaToday() }));
  const part = (key) => busy === `${kind}.${key}`;
  // A returned or reopened submission's entries are being corrected: they print with the
  // entries not yet submitted until it goes in again.
  return html`
    <div class="submissions" data-submissions=${kind}>
      <h3>各次报送</h3>
      ${sections.length === 0 && html`<p class="muted small" data-none>尚无报送。</p>`}
      <ul>
        ${sections.map(
          (s) => html`
            <li class="submission" data-submission=${s.submission_id} data-status=${s.status}>
              <div class="submission-head">
                <strong>${s.work_area_name}</strong>
                <span class="chip ${s.supplementary ? 'supplement' : 'first'}">${s.supplementary ? '补报' : '首次报送'}</span>
                <span class="chip ${s.status}" data-status-zh>${s.status_zh}</span>
                <span class="muted small">${s.entries}条</span>
              </div>
              <p class="muted small" data-note>${s.note_zh}</p>
              <div class="actions">
                ${(s.status === 'submitted' || s.status === 'approved') &&
                html`<button class="btn small" data-download disabled=${busy !== ''}
                  onClick=${() => download(kind, 'xlsx', `${title}（${s.work_area_name}${s.supplementary ? '补报' : ''}）`, s.submission_id)}>
                  ${part(s.submission_id) ? '正在生成……' : '下载本次报送'}
                </button>`}
                ${role === 'org_office' &&
                s.status === 'approved' &&
                html`
                  <label class="sr-only" for="reopen-${s.submission_id}">重新打开原因</label>
                  <input id="reopen-${s.submission_id}" class="opinion" placeholder="重新打开原因（必填）" maxlength="500"
                    value=${reasons[s.submission_id] || ''}
                    onInput=${(e) => setReasons({ ...reasons, [s.submission_id]: e.target.value })} />
                  <button class="btn small" data-action="reopen" disabled=${acting} onClick=${() => reopen(s)}>重新打开</button>`}
                ${staff &&
                (s.status === 'returned' || s.status === 'reopened') &&
                html`<button class="btn small primary" data-action="resubmit" disabled=${acting} onClick=${() => resubmit(s)}>重新报送</button>`}
              </div>
            </li>`,
        )}
        <li class="submission unsubmitted" data-part="unsubmitted">
          <div class="submission-head">
            <strong>未报送条目</strong>
            <span class="chip ${table.unsubmitted ? 'open' : 'not_applicable'}" data-count>${table.unsubmitted ?? 0}条</span>
          </div>
          <p class="muted small">尚未报送，或所在报送已退回、重新打开，待重新报送的条目。</p>
          <div class="actions">
            <button class="btn small" data-download disabled=${busy !== '' || !table.unsubmitted}
              onClick=${() => download(kind, 'xlsx', `${title}（未报送条目）`, 'unsubmitted')}>
              ${part('unsubmitted') ? '正在生成……' : '下载未报送条目'}
            </button>
            ${staff &&
            !waiting &&
            html`<button class="btn small primary" data-action="submit" disabled=${acting || (sections.length > 0 && !table.unsubmitted)}
              onClick=${submit}>${sections.length ? '补报' : '报送'}</button>`}
          </div>
        </li>
      </ul>
      ${error && html`<p class="error-text" role="alert" data-error>${error}</p>`}
    </div>`;
}

export function Registers({ unitId, unitName, unitKind, role }) {
  const [busy, setBusy] = useState('');
  const [error, setError] = useState('');
  const [tables, reload] = useSubmissions(unitId);

  async function download(kind, format, title, submission) {
    setBusy(submission ? `${kind}.${submission}` : `${kind}.${format}`);
    setError('');
    try {
      const query = { org_unit_id: unitId, format };
      if (submission) query.submission = submission;
      const { blob, filename } = await api.request('GET', `/v1/ledgers/${kind}`, {
        query,
        blob: true,
        timeout: 120000,
      });
      saveBlob(blob, filename || `${title}.${format}`);
    } catch (e) {
      setError(e.message);
    } finally {
      setBusy('');
    }
  }

  return html`
    <div class="registers">
      <h1>台帐 <span class="muted kind">${unitName || ''}</span></h1>
      ${error && html`<p class="card error-text" role="alert">${error}</p>`}
      <ul class="register-list">
        ${REGISTERS.map(
          ([kind, title, note]) => html`
            <li class="card register ${tables[kind] ? 'by-submission' : ''}" data-register=${kind}>
              <div>
                <h2>${title}</h2>
                <p class="muted small">${note}</p>
              </div>
              <div class="actions">
                <button class="btn" data-format="xlsx" disabled=${busy !== ''}
                  onClick=${() => download(kind, 'xlsx', title)}>
                  ${busy === `${kind}.xlsx` ? '正在生成……' : '下载 Excel'}
                </button>
                <button class="btn" data-format="csv" disabled=${busy !== ''}
                  onClick=${() => download(kind, 'csv', title)}>
                  ${busy === `${kind}.csv` ? '正在生成……' : '下载 CSV'}
                </button>
              </div>
              ${tables[kind] &&
              html`<${Submissions} kind=${kind} title=${title} table=${tables[kind]} role=${role} unitId=${unitId}
                unitKind=${unitKind} download=${download} busy=${busy} onDone=${reload} />`}
            </li>`,
        )}
      </ul>
    </div>`;
}
