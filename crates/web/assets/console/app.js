// The office console: the committee, the 组织办, the streets and the work areas run the
// campaign here. Routes live in the URL's hash (`#/overview/<unit id>`), so every view can be
// bookmarked and sent, and the browser's back button walks back through drill-downs.

import { html, render, useState, useEffect } from '../core/ui.js';
import { api } from '../core/api.js';
import { MSG } from '../core/messages.js';
import { loadWords, words } from '../core/words.js';
import { ChangePassword, Login } from './login.js';
import { Overview } from './overview.js';
import { Registers } from './registers.js';
import { Imports } from './imports.js';
import { Members } from './members.js';
import { Queues, countOf, loadQueue, queuesOf } from './queues.js';
import { Admin } from './admin.js';
import { Reports, ReportPage } from './reports.js';
import { onChange } from '../core/live.js';

/** The current route: `{view, arg, next}` from `location.hash`. */
function parseHash() {
  const raw = decodeURIComponent(location.hash.replace(/^#\/?/, ''));
  const [path, query = ''] = raw.split('?');
  const [view = '', arg = ''] = path.split('/');
  const next = new URLSearchParams(query).get('next') || '';
  return { view: view || 'overview', arg, next };
}

export function go(hash) {
  if (location.hash !== hash) location.hash = hash;
}

function useRoute() {
  const [route, setRoute] = useState(parseHash());
  useEffect(() => {
    const on = () => setRoute(parseHash());
    addEventListener('hashchange', on);
    // A change of the hash between the first render and this subscription fired no event here.
    on();
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

function useApiState() {
  const [state, setState] = useState({ online: api.online, session: api.session });
  useEffect(() => api.subscribe(setState), []);
  return state;
}

const TABS = [
  ['overview', '总览'],
  ['queues', '待办'],
  ['members', '党员'],
  ['imports', '导入'],
  ['registers', '台帐'],
  ['reports', '报表'],
  ['admin', '管理'],
];

// Who sees 管理: the committee admin, and a branch secretary for its working group's accounts.
const ADMIN_ROLES = ['committee_admin', 'branch_secretary'];
// Who sees 报表: the committee's own roles, who report upward and read what was reported.
const REPORT_ROLES = ['committee_admin', 'org_office', 'viewer'];

function tabsFor(role) {
  return TABS.filter(
    ([key]) =>
      (key !== 'admin' || ADMIN_ROLES.includes(role)) && (key !== 'reports' || REPORT_ROLES.includes(role)),
  );
}

/** How many items wait in the queues, kept current by the change feed. */
function useQueueCount(session) {
  const [count, setCount] = useState(null);
  useEffect(() => {
    if (!session || queuesOf(session.user.role).length === 0) return undefined;
    let alive = true;
    const load = () =>
      loadQueue(session.user.role).then(
        (queue) => alive && setCount(countOf(queue)),
        () => {},
      );
    load();
    const off = onChange(load);
    addEventListener('paicha:queue', load);
    return () => {
      alive = false;
      off();
      removeEventListener('paicha:queue', load);
    };
  }, [session?.user?.id]);
  return count;
}

function TopBar({ session, view, unitId, waiting }) {
  const user = session.user;
  return html`
    <header class="topbar">
      <div class="brand">党员组织关系集中排查</div>
      <nav class="tabs" aria-label="主菜单">
        ${tabsFor(user.role).map(
          ([key, label]) => html`
            <a href="#/${key}/${unitId}" class="tab ${view === key ? 'active' : ''}" data-tab=${key}
              aria-current=${view === key ? 'page' : undefined}>${label}${key === 'queues' && waiting > 0
                ? html`<span class="badge" data-badge aria-label="${waiting}项待办">${waiting}</span>`
                : ''}</a>`,
        )}
      </nav>
      <div class="who">
        <span>${user.display_name || user.username}</span>
        <span class="muted">${words().role(user.role)}</span>
        <button class="btn small" onClick=${() => api.logout()}>${MSG.sign_out}</button>
      </div>
    </header>`;
}

/** The registers of a unit, with the unit's name. */
function RegistersPage({ unitId, role }) {
  const [unit, setUnit] = useState(null);
  useEffect(() => {
    let alive = true;
    api.get(`/v1/org-units/${unitId}`).then(
      (u) => alive && setUnit(u),
      () => {},
    );
    return () => {
      alive = false;
    };
  }, [unitId]);
  return html`<${Registers} unitId=${unitId} unitName=${unit?.name} unitKind=${unit?.kind} role=${role} />`;
}

/** Whether the words people read (`GET /v1/schema`) are loaded; loads them once signed in. */
function useWords(session) {
  const [ready, setReady] = useState(!!words());
  const signedIn = !!session && !session.password_change_required;
  useEffect(() => {
    if (!signedIn || ready) return undefined;
    let alive = true;
    const attempt = () =>
      loadWords().then(
        () => alive && setReady(true),
        () => alive && setTimeout(attempt, 2000),
      );
    attempt();
    return () => {
      alive = false;
    };
  }, [signedIn, ready]);
  return ready;
}

function App() {
  const route = useRoute();
  const { online, session } = useApiState();
  const waiting = useQueueCount(session);
  const ready = useWords(session);

  // Signed out (or the session expired): the sign-in page, which returns to where the user was.
  useEffect(() => {
    if (!session && route.view !== 'login') {
      const here = location.hash.replace(/^#/, '') || '/overview';
      go(`#/login?next=${encodeURIComponent(here)}`);
    }
  }, [session, route.view]);

  if (!session || route.view === 'login') {
    return html`<${Login} next=${route.next} expired=${api.expired} />`;
  }
  // Nothing else until a required new password is set.
  if (session.password_change_required) {
    return html`<${ChangePassword} />`;
  }
  if (!ready) return html`<p class="boot">${MSG.loading}</p>`;
  const unitId = route.arg || session.user.org_unit_id;
  let view;
  // The platform administrator belongs to no unit and reads no campaign's data: nothing to ask.
  switch (unitId ? route.view : 'no-unit') {
    case 'no-unit':
      view = html`<p class="card muted" data-no-unit>平台管理员不属于任何党组织，不查看排查数据；请用各党工委的账号登录。</p>`;
      break;
    case 'queues':
      view = html`<${Queues} role=${session.user.role} />`;
      break;
    case 'members':
      view = html`<${Members} unitId=${unitId} role=${session.user.role} />`;
      break;
    case 'imports':
      view = html`<${Imports} role=${session.user.role} unitId=${unitId} />`;
      break;
    case 'admin':
      view = ADMIN_ROLES.includes(session.user.role)
        ? html`<${Admin} key=${session.user.id} session=${session} />`
        : html`<${Overview} unitId=${unitId} role=${session.user.role} />`;
      break;
    case 'registers':
      view = html`<${RegistersPage} unitId=${unitId} role=${session.user.role} />`;
      break;
    case 'reports':
      view = html`<${Reports} unitId=${unitId} role=${session.user.role} />`;
      break;
    case 'report':
      view = html`<${ReportPage} id=${route.arg} />`;
      break;
    case 'overview':
    default:
      view = html`<${Overview} unitId=${unitId} role=${session.user.role} />`;
  }
  return html`
    ${!online && html`<div class="banner offline" role="status">${MSG.unreachable}</div>`}
    <${TopBar} session=${session} view=${route.view} unitId=${unitId} waiting=${waiting} />
    <main class="page">${view}</main>`;
}

// A fault in the page itself is said in Chinese, never left as a blank or frozen page.
function showFault() {
  if (document.getElementById('fault')) return;
  const div = document.createElement('div');
  div.id = 'fault';
  div.className = 'banner error';
  div.setAttribute('role', 'alert');
  div.textContent = '页面出现错误，请刷新后重试。';
  document.body.prepend(div);
}
addEventListener('error', showFault);
addEventListener('unhandledrejection', showFault);

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
