// 报表: the status of a unit as the 组织办 signed it (docs/domain.md §8.14), kept as it was, with
// what has moved since. The 组织办 signs here; everyone who reads the unit reads the reports.

import { html, useState, useEffect } from '../core/ui.js';
import { api, saveBlob } from '../core/api.js';
import { date, number, chinaToday } from '../core/format.js';

/** The counts a report shows, in the order the offices read them. */
const ROWS = [
  'roster_at_start',
  'lost_contact_at_start',
  'lost_at_start_found',
  'mobile_at_start',
  'added_after_start',
  'members_total',
  'members_left',
  'verified',
  'verified_by_deadline',
  'info_forms_complete',
  'confirmed_by_exception',
  'ledger_a_entries',
  'ledger_b_entries',
  'lost_searched',
  'lost_not_searched',
  'transfers_without_receipt',
  'transfers_registered_lost',
  'baseline_corrections',
  'overdue',
];

/** Who signs (docs/protocol.md §12.11). */
const SIGNERS = ['org_office'];

/** `2016-03-20T08:12:03Z` → `2016年3月20日 16:12` in China time. */
function dateTime(iso) {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return '';
  const china = new Date(t.getTime() + 8 * 3600 * 1000).toISOString();
  return `${date(china.slice(0, 10))} ${china.slice(11, 16)}`;
}

function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: '' });
  useEffect(() => {
    let alive = true;
    setState({ data: null, error: '' });
    load().then(
      (data) => alive && setState({ data, error: '' }),
      (e) => alive && setState({ data: null, error: e.message }),
    );
    return () => {
      alive = false;
    };
  }, deps);
  return state;
}

/** The list of a unit's reports, and for the 组织办 the form to sign one. */
export function Reports({ unitId, role }) {
  const { data, error } = useLoad(() => api.get('/v1/reports', { org_unit_id: unitId }), [unitId]);
  const [asOf, setAsOf] = useState(chinaToday());
  const [busy, setBusy] = useState(false);
  const [signError, setSignError] = useState('');

  async function sign() {
    if (!confirm(`签发截至${date(asOf)}的报表？签发后报表内容不再改变，以后的变化将另行显示。`)) return;
    setBusy(true);
    setSignError('');
    try {
      const report = await api.post('/v1/reports', { org_unit_id: unitId, as_of: asOf });
      location.hash = `#/report/${report.id}`;
    } catch (e) {
      setSignError(e.message);
    } finally {
      setBusy(false);
    }
  }

  return html`
    <div class="reports">
      <h1>报表</h1>
      ${SIGNERS.includes(role) && html`
        <section class="card sign-report">
          <h2>签发报表</h2>
          <p class="muted small">签发本单位截至某日的排查情况。报表一经签发即保存原样，并记录内容的SHA-256和审计链头，供打印存档。</p>
          <div class="sign-form">
            <label class="field"><span>截至日期</span>
              <input type="date" id="report-as-of" value=${asOf} max=${chinaToday()}
                onInput=${(e) => setAsOf(e.target.value)} /></label>
            <button class="btn primary" id="sign-report" disabled=${busy || !asOf} onClick=${sign}>
              ${busy ? '正在签发……' : '签发报表'}</button>
          </div>
          ${signError && html`<p class="error-text" role="alert">${signError}</p>`}
        </section>`}
      ${error && html`<p class="card error-text" role="alert">${error}</p>`}
      ${data && (data.reports.length === 0
        ? html`<p class="card muted" data-reports="0">还没有签发的报表。</p>`
        : html`
          <section class="card">
            <table class="grid report-list" data-reports=${data.reports.length}>
              <thead><tr><th>截至日期</th><th>单位</th><th>签发人</th><th>签发时间</th><th>内容SHA-256</th><th></th></tr></thead>
              <tbody>
                ${data.reports.map((r) => html`
                  <tr data-report-id=${r.id}>
                    <td>${date(r.as_of)}</td>
                    <td>${r.unit_name}</td>
                    <td>${r.signed_by_name}</td>
                    <td>${dateTime(r.signed_at)}</td>
                    <td class="mono">${r.content_sha256.slice(0, 12)}…</td>
                    <td><a href="#/report/${r.id}">查看</a></td>
                  </tr>`)}
              </tbody>
            </table>
          </section>`)}
    </div>`;
}

/** The counts of a signed report: the unit and each child, one column each. */
function CountsTable({ status }) {
  const units = [status, ...(status.children || [])];
  const labels = status.count_labels || {};
  const rows = ROWS.filter((key) => units.some((u) => typeof u.counts[key] === 'number'));
  return html`
    <table class="grid report-counts">
      <thead><tr><th>项目</th>${units.map((u, i) => html`<th class="num">${i === 0 ? `${u.name}（合计）` : u.name}</th>`)}</tr></thead>
      <tbody>
        ${rows.map((key) => html`
          <tr data-count=${key}>
            <th scope="row">${labels[key] || key}</th>
            ${units.map((u) => html`<td class="num">${number(u.counts[key])}</td>`)}
          </tr>`)}
      </tbody>
    </table>`;
}

function Phases({ phases }) {
  if (!phases?.length) return null;
  return html`
    <table class="grid report-phases">
      <thead><tr><th>阶段</th><th>时间</th><th>状态</th><th class="num">事项</th><th class="num">按期</th><th class="num">逾期</th><th class="num">未完成</th></tr></thead>
      <tbody>
        ${phases.map((p) => html`
          <tr>
            <th scope="row">${p.label_zh}</th>
            <td>${date(p.starts_on)}至${date(p.deadline)}</td>
            <td>${p.state_zh}</td>
            <td class="num">${number(p.items)}</td>
            <td class="num">${number(p.on_time)}</td>
            <td class="num">${number(p.late)}</td>
            <td class="num">${number(p.not_done)}</td>
          </tr>`)}
      </tbody>
    </table>`;
}

/** What has moved since the report: the counts, and the records that moved them. */
function Changes({ id }) {
  const { data, error } = useLoad(() => api.get(`/v1/reports/${id}/changes`), [id]);
  if (error) return html`<p class="error-text" role="alert">${error}</p>`;
  if (!data) return html`<p class="muted">正在读取……</p>`;
  if (!data.counts.length && !data.records.length) {
    return html`<p class="muted" data-changes="0">签发以来，报表中的数字和相关记录都没有变化。</p>`;
  }
  return html`
    <div data-changes=${data.counts.length}>
      ${data.counts.length
        ? html`
          <table class="grid changes-counts">
            <thead><tr><th>单位</th><th>项目</th><th class="num">签发时</th><th class="num">现在</th></tr></thead>
            <tbody>
              ${data.counts.map((c) => html`
                <tr data-moved=${c.key}><td>${c.unit_name}</td><td>${c.label_zh}</td>
                  <td class="num">${number(c.signed)}</td><td class="num">${number(c.now)}</td></tr>`)}
            </tbody>
          </table>`
        : html`<p class="muted">报表中的数字没有变化。</p>`}
      <h3>签发以来的记录变动（${number(data.records.length)}${data.more_records ? '+' : ''}条）</h3>
      <ul class="history changes-records">
        ${data.records.map((r) => html`
          <li data-record=${r.record_id}>
            <span>${dateTime(r.server_time)}</span>　<strong>${r.collection_zh}</strong>
            ${r.op === 'delete' ? '删除' : r.op === 'put' ? '新建' : '修改'}
            ${r.fields.length ? html`<span class="muted small">（${r.fields.length}项）</span>` : ''}
          </li>`)}
      </ul>
    </div>`;
}

/** One signed report, as signed, ready to print; what moved since beside it. */
export function ReportPage({ id }) {
  const { data: report, error } = useLoad(() => api.get(`/v1/reports/${id}`), [id]);
  const [downloadError, setDownloadError] = useState('');
  if (error) return html`<p class="card error-text" role="alert">${error}</p>`;
  if (!report) return html`<p class="muted">正在读取……</p>`;
  const status = report.status;

  async function xlsx() {
    setDownloadError('');
    try {
      const { blob, filename } = await api.request('GET', `/v1/reports/${id}`, {
        query: { format: 'xlsx' },
        blob: true,
      });
      saveBlob(blob, filename || `报表-${report.as_of}.xlsx`);
    } catch (e) {
      setDownloadError(e.message);
    }
  }

  const r = status.reconciliation;
  return html`
    <div class="report-page">
      <div class="no-print report-actions">
        <a class="btn" href="#/reports/${report.org_unit_id}">返回报表列表</a>
        <button class="btn" onClick=${() => print()}>打印</button>
        <button class="btn" onClick=${xlsx}>下载 Excel</button>
        ${downloadError && html`<span class="error-text" role="alert">${downloadError}</span>`}
      </div>
      <article class="card report" data-report=${report.id}>
        <h1>${report.unit_name}党员组织关系集中排查情况报表</h1>
        <p class="report-meta">截至${date(report.as_of)}　签发：${report.signed_by_name}　签发时间：${dateTime(report.signed_at)}</p>
        <${CountsTable} status=${status} />
        ${r && html`<p>底数核对：排查开始时在册${number(r.roster_at_start)}人 + 台帐A ${number(r.ledger_a_additions)}人 − 台帐B ${number(r.ledger_b_removals)}人 = 应为${number(r.expected)}人；村（社区）实际${r.actual == null ? '未填报' : `${number(r.actual)}人`}。</p>`}
        <${Phases} phases=${status.phases} />
        <footer class="report-seal">
          <p>内容SHA-256：<span class="mono" data-sha256>${report.content_sha256}</span></p>
          <p>审计链头：版本 ${number(report.chain_version)}，<span class="mono" data-chain-head>${report.chain_head}</span></p>
          <p class="signoff">组织办负责人（签字）：<span class="blank"></span>日期：<span class="blank"></span></p>
        </footer>
      </article>
      <section class="card no-print report-since">
        <h2>签发以来的变化</h2>
        <${Changes} id=${report.id} />
      </section>
    </div>`;
}
