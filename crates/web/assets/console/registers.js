// 台帐: the registers of the unit shown, as Excel workbooks or CSV files.

import { html, useState } from '../core/ui.js';
import { api, saveBlob } from '../core/api.js';

export const REGISTERS = [
  ['ledger_a', '不在花名册党员初审信息台帐', '台帐A：核查中发现、不在花名册上的党员'],
  ['ledger_b', '党员花名册多余人员信息台帐', '台帐B：在花名册上、但不应在册的人员'],
  ['lost_contact_register', '失联党员登记册', '全部失联党员的查找情况'],
  ['found_register', '经查找取得联系党员登记表', '经查找已取得联系的党员'],
  ['still_lost_register', '经查找仍然无法取得联系党员登记表', '经查找仍无法取得联系的党员'],
  ['roster', '党员花名册', '本单位在册党员'],
  ['mobile_register', '流动党员登记册', '流动党员的流出时间、原因和去向'],
];

export function Registers({ unitId, unitName }) {
  const [busy, setBusy] = useState('');
  const [error, setError] = useState('');

  async function download(kind, format, title) {
    setBusy(`${kind}.${format}`);
    setError('');
    try {
      const { blob, filename } = await api.request('GET', `/v1/ledgers/${kind}`, {
        query: { org_unit_id: unitId, format },
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
            <li class="card register" data-register=${kind}>
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
            </li>`,
        )}
      </ul>
    </div>`;
}
