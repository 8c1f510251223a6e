// 导入: a branch's 花名册, or a street's 转出明细, from an Excel workbook or a CSV file. A file
// with problems is refused whole: every bad row is listed with its column and the reason, and
// nothing is written. The transfer lists already uploaded show which branches received them
// and acted on them.

import { html, useState, useEffect } from '../core/ui.js';
import { api } from '../core/api.js';
import { number } from '../core/format.js';

const BRANCH_ROLES = ['branch_secretary', 'group_member'];
const TRANSFER_ROLES = ['street_staff', 'committee_admin'];

function Problems({ problems }) {
  return html`
    <div class="table-wrap">
      <table class="grid problems">
        <thead><tr><th scope="col" class="num">行</th><th scope="col">列</th><th scope="col">问题</th></tr></thead>
        <tbody>
          ${problems.map(
            (p) => html`<tr data-row=${p.row}>
              <td class="num">${p.row || '—'}</td><td>${p.column || '—'}</td><td>${p.message}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
}

function ImportForm({ kind, unitId, onImported }) {
  const [file, setFile] = useState(null);
  const [listName, setListName] = useState('');
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState(null);

  async function submit(event) {
    event.preventDefault();
    if (!file) return;
    setBusy(true);
    setOutcome(null);
    try {
      const query = { org_unit_id: unitId };
      if (kind === 'transfers') query.list_name = listName.trim();
      const result = await api.request('POST', `/v1/import/${kind}`, {
        query,
        body: file,
        timeout: 300000,
      });
      setOutcome({ result });
      onImported?.();
    } catch (e) {
      setOutcome({ error: e.message, problems: e.body?.problems || [] });
    } finally {
      setBusy(false);
    }
  }

  const title = kind === 'roster' ? '导入花名册' : '导入转出明细';
  return html`
    <form class="card import-form" data-import=${kind} onSubmit=${submit}>
      <h2>${title}</h2>
      <p class="muted small">
        ${kind === 'roster'
          ? '上传本支部的党员花名册（Excel 或 CSV），按公民身份号码新增或更新党员。'
          : '上传转出党员明细（Excel 或 CSV），每行按「党支部」列下发到对应党支部跟进。更正后再次上传同一批次时，按「序号」逐行更正，新文件中已没有的行将撤回。'}
        文件有任何问题时整份不导入，并逐行列出问题。
      </p>
      ${kind === 'transfers' &&
      html`<div class="field">
        <label for="list-name">转出批次名称</label>
        <input id="list-name" required maxlength="100" value=${listName}
          onInput=${(e) => setListName(e.target.value)} placeholder="例如：2026年第一批转出明细" />
      </div>`}
      <div class="field">
        <span class="label" id="file-label-${kind}">文件（.xlsx 或 .csv）</span>
        <div class="file-pick">
          <span class="btn" aria-hidden="true">选择文件…</span>
          <span class="file-name">${file ? file.name : '未选择文件'}</span>
          <input id="file-${kind}" type="file" accept=".xlsx,.csv" required
            aria-labelledby="file-label-${kind}"
            onChange=${(e) => setFile(e.target.files[0] || null)} />
        </div>
      </div>
      <button class="btn primary" type="submit" disabled=${busy || !file}>
        ${busy ? '正在导入……' : '开始导入'}
      </button>
      ${outcome?.result &&
      html`<p class="ok-text" role="status" data-outcome="imported">
        导入完成：新增 ${number(outcome.result.created)} 条，更新 ${number(outcome.result.updated)} 条${outcome.result.readdressed
          ? html`（其中 ${number(outcome.result.readdressed)} 条改由其他党支部跟进，原支部已收到通知）`
          : ''}，未变 ${number(outcome.result.unchanged)} 条${outcome.result.withdrawn
          ? html`，撤回 ${number(outcome.result.withdrawn)} 条（新文件中已没有这些行，保留并标为已撤回，不再计数）`
          : ''}${outcome.result.conflicts
          ? html`，${number(outcome.result.conflicts)} 处与手机上的修改冲突（已记入冲突记录，请复核）`
          : ''}。
      </p>`}
      ${outcome?.error &&
      html`<div role="alert" data-outcome="refused">
        <p class="error-text">${outcome.error}</p>
        ${outcome.problems.length > 0 && html`<${Problems} problems=${outcome.problems} />`}
      </div>`}
    </form>`;
}

function TransferLists({ unitId, round }) {
  const [lists, setLists] = useState(null);
  const [error, setError] = useState('');
  useEffect(() => {
    let alive = true;
    api.get('/v1/transfers/lists', { org_unit_id: unitId }).then(
      (r) => alive && setLists(r.lists),
      (e) => alive && setError(e.message),
    );
    return () => {
      alive = false;
    };
  }, [unitId, round]);
  return html`
    <section class="card">
      <h2>已下发的转出明细</h2>
      ${error && html`<p class="error-text" role="alert">${error}</p>`}
      ${lists && lists.length === 0 && html`<p class="muted">还没有转出明细。</p>`}
      ${(lists || []).map(
        (l) => html`
          <div class="transfer-list" data-list=${l.list_name}>
            <h3>${l.list_name} <span class="muted small">共 ${number(l.transfers)} 人${l.withdrawn
              ? html`，另撤回 ${number(l.withdrawn)} 人`
              : ''}</span></h3>
            <div class="table-wrap">
              <table class="grid">
                <thead><tr><th scope="col">党支部</th><th scope="col" class="num">下发</th>
                  <th scope="col" class="num">已接收</th><th scope="col" class="num">已跟进</th>
                  <th scope="col" class="num">已办结</th><th scope="col" class="num">登记失联</th></tr></thead>
                <tbody>
                  ${l.branches.map(
                    (b) => html`<tr data-branch=${b.branch_id}>
                      <th scope="row">${b.branch_name}</th><td class="num">${number(b.transfers)}</td>
                      <td class="num">${number(b.received)}</td><td class="num">${number(b.acted_on)}</td>
                      <td class="num">${number(b.closed)}</td><td class="num">${number(b.registered_lost)}</td>
                    </tr>`,
                  )}
                </tbody>
              </table>
            </div>
          </div>`,
      )}
    </section>`;
}

export function Imports({ role, unitId }) {
  const [round, setRound] = useState(0);
  const roster = BRANCH_ROLES.includes(role);
  const transfers = TRANSFER_ROLES.includes(role);
  return html`
    <div class="imports">
      <h1>导入</h1>
      ${!roster && !transfers &&
      html`<p class="card muted">花名册由党支部导入，转出明细由街道或党工委导入；您的角色无需导入。</p>`}
      ${roster && html`<${ImportForm} kind="roster" unitId=${unitId} />`}
      ${transfers && html`<${ImportForm} kind="transfers" unitId=${unitId} onImported=${() => setRound((n) => n + 1)} />`}
      <${TransferLists} unitId=${unitId} round=${round} />
    </div>`;
}
