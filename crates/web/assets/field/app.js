// The field app (/field/): the branch working groups verify members, fill the 党员信息采集表
// with photo and signature, record search attempts and follow up transfers, on a phone that is
// often offline. Everything works on the local replica (core/replica.js); the sync loop
// (core/sync.js) exchanges it with the server whenever a network is there.
//
// Routes live in the hash: #/ (members), #/m/<id>, #/m/<id>/form, #/m/<id>/attempt/<case>,
// #/transfers, #/ledger, #/sync.

import { html, render, useState, useEffect, useMemo } from '../core/ui.js';
import { api } from '../core/api.js';
import { Replica } from '../core/replica.js';
import { SyncEngine } from '../core/sync.js';
import { Schema } from '../core/schema.js';
import { LoginForm } from '../core/login.js';
import { MemberList, MemberPage, AttemptForm } from './members.js';
import { InfoForm } from './form.js';
import { Transfers, Ledger, SyncPanel } from './panels.js';

api.useStore('paicha.field.session');

const FIELD_ROLES = ['branch_secretary', 'group_member'];

/** Everything the screens share: the replica, the sync engine, the schema, the user. */
export const ctx = { replica: null, sync: null, schema: null };

function parseHash() {
  const parts = decodeURIComponent(location.hash.replace(/^#\/?/, '')).split('/').filter(Boolean);
  return parts;
}

function useHash() {
  const [route, setRoute] = useState(parseHash());
  useEffect(() => {
    const on = () => {
      setRoute(parseHash());
      window.scrollTo(0, 0);
    };
    addEventListener('hashchange', on);
    // A change of the hash between the first render and this subscription fired no event here.
    setRoute(parseHash());
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** Re-renders on every change of the replica (cheap: views are cached per collection). */
export function useReplica() {
  const [, setRevision] = useState(0);
  useEffect(() => ctx.replica.subscribe(setRevision), []);
  return ctx.replica;
}

export function useSyncState() {
  const [state, setState] = useState({ ...ctx.sync.state });
  useEffect(() => ctx.sync.subscribe((s) => setState({ ...s })), []);
  return state;
}

function useOnline() {
  const [online, setOnline] = useState(api.online);
  useEffect(() => api.subscribe((s) => setOnline(s.online)), []);
  return online;
}

/** The server's schema and the user's units, fetched when online and kept for offline use. */
async function refreshReference() {
  const kept = ctx.replica.get('schema');
  try {
    const doc = await api.get('/v1/schema', undefined, {
      headers: kept ? { 'if-none-match': `"${kept.version}"` } : {},
    });
    if (doc?.collections) {
      await ctx.replica.setMeta({ schema: doc });
      ctx.schema = new Schema(doc);
    }
  } catch {
    // 304 (unchanged) or offline: the kept copy serves.
  }
  try {
    await ctx.replica.setMeta({ org_units: await api.get('/v1/org-units') });
  } catch {
    // Offline: the kept list serves.
  }
}

function Login({ onDone }) {
  async function signIn(username, password) {
    const user = await api.login(username, password, ctx.replica.deviceId);
    if (!FIELD_ROLES.includes(user.role)) {
      await api.logout();
      throw new Error('本应用供党支部工作组使用；您的账号请使用办公端（网址 /）');
    }
    const previous = ctx.replica.get('user_id');
    if (previous && previous !== user.id) {
      // A replica belongs to one user's scope (§10.1): another user's data and edits go.
      const waiting = ctx.replica.outbox.length;
      if (waiting > 0 && !confirm(`本机还有上一位用户的${waiting}条修改未上传，换用户登录将丢弃它们。继续吗？`)) {
        await api.logout();
        throw new Error('已取消登录');
      }
      await ctx.replica.wipe();
      await api.logout();
      await api.login(username, password, ctx.replica.deviceId);
    }
    await ctx.replica.setMeta({ user_id: user.id, user });
    onDone();
  }
  return html`<${LoginForm} title="排查工作 · 党支部" hint="党支部工作组现场核查使用。首次登录需联网，之后无网络也可打开。"
    notice=${api.expired ? '登录已过期，请重新登录' : ''} onSubmit=${signIn} />`;
}

function SyncBadge() {
  const s = useSyncState();
  const online = useOnline();
  const replica = useReplica();
  const waiting = replica.outbox.length;
  const wrong = replica.rejections.length;
  let text;
  let cls;
  if (!online) {
    text = waiting ? `离线 · ${waiting}条待上传` : '离线';
    cls = 'offline';
  } else if (s.syncing || waiting) {
    text = waiting ? `同步中 · ${waiting}条待上传` : '同步中';
    cls = 'busy';
  } else {
    text = '已同步';
    cls = 'ok';
  }
  return html`<a class=${`sync-badge ${cls}`} href="#/sync" id="sync-badge" data-waiting=${waiting}>
    ${text}${wrong ? html` · <strong>${wrong}条需更正</strong>` : ''}
  </a>`;
}

function Shell({ route, user }) {
  const [first] = route;
  const tabs = [
    ['', '党员'],
    ['transfers', '转出跟进'],
    ['ledger', '台帐'],
    ['sync', '同步'],
  ];
  let screen;
  if (first === 'm' && route[2] === 'form') screen = html`<${InfoForm} memberId=${route[1]} formId=${route[3]} />`;
  else if (first === 'm' && route[2] === 'attempt') screen = html`<${AttemptForm} memberId=${route[1]} caseId=${route[3]} />`;
  else if (first === 'm') screen = html`<${MemberPage} id=${route[1]} />`;
  else if (first === 'transfers') screen = html`<${Transfers} />`;
  else if (first === 'ledger') screen = html`<${Ledger} />`;
  else if (first === 'sync') screen = html`<${SyncPanel} onSignOut=${signOut} />`;
  else screen = html`<${MemberList} />`;
  const active = first === 'm' ? '' : first ?? '';
  return html`
    <header class="top">
      <div class="who"><strong>${user.display_name || user.username}</strong>
        <span class="muted">${ctx.schema?.role(user.role) ?? ''}</span></div>
      <${SyncBadge} />
    </header>
    <main class="screen">${screen}</main>
    <nav class="tabs" aria-label="主菜单">
      ${tabs.map(([key, label]) => html`<a href=${`#/${key}`} class=${active === key ? 'active' : ''}>${label}</a>`)}
    </nav>`;
}

/** Signs out (the server ends the sign-in, at once or when it can be reached) and, unless the
 * user keeps them, clears the phone: the replica and the browser's caches of this app. */
async function signOut(wipe) {
  ctx.sync.stop();
  // Cleared before the sign-in page shows: the next person at this phone sees nothing of it.
  if (wipe) {
    await ctx.replica.wipe();
    await clearCaches();
  }
  await api.logout();
  location.hash = '#/';
  start();
}

/** Empties the Cache Storage of this origin (the service worker's copies of the app). */
async function clearCaches() {
  if (!('caches' in globalThis)) return;
  try {
    for (const key of await caches.keys()) await caches.delete(key);
  } catch {
    // Not available (an insecure origin): nothing is cached there.
  }
}

function App() {
  const route = useHash();
  const [user, setUser] = useState(api.session ? ctx.replica.get('user') : null);
  const [ready, setReady] = useState(Boolean(ctx.schema));
  useEffect(() => {
    if (!user) return undefined;
    let live = true;
    (async () => {
      if (!ctx.schema) await refreshReference();
      if (live) setReady(Boolean(ctx.schema));
      ctx.sync.start();
      if (ctx.schema) refreshReference();
    })();
    const off = api.subscribe(({ session }) => {
      if (!session) setUser(null);
    });
    return () => {
      live = false;
      off();
    };
  }, [user]);
  if (!user) return html`<${Login} onDone=${() => setUser(ctx.replica.get('user'))} />`;
  if (!ready) return html`<p class="boot">正在准备数据（首次使用需联网）……</p>`;
  return html`<${Shell} route=${route} user=${user} />`;
}

async function start() {
  if (!ctx.replica) {
    ctx.replica = await Replica.open();
    ctx.sync = new SyncEngine(ctx.replica);
    // The session lives in the replica (durable); a copy in local storage may be stale.
    const kept = ctx.replica.get('session');
    api.persistWith((session) => ctx.replica.setMeta({ session }), kept === undefined ? undefined : kept);
  }
  const doc = ctx.replica.get('schema');
  ctx.schema = doc ? new Schema(doc) : null;
  const root = document.getElementById('app');
  root.querySelector('.boot')?.remove();
  render(html`<${App} key=${Date.now()} />`, root);
}

/** The branch the user works for (its records are owned by it). */
export function myBranch() {
  return ctx.replica.get('user')?.org_unit_id;
}

export function unitName(id) {
  // Kept as `GET /v1/org-units` answers: `{org_units: [...]}`.
  const kept = ctx.replica.get('org_units');
  const units = Array.isArray(kept) ? kept : kept?.org_units || [];
  return units.find((u) => u.id === id)?.name ?? '';
}

export function useMemoView(collection, fn) {
  const replica = useReplica();
  return useMemo(() => fn(replica.view(collection)), [replica.revision, collection]);
}

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/field/sw.js', { scope: '/field/' }).catch(() => {
    // Without a service worker the app still works online.
  });
}

start().catch((e) => {
  document.getElementById('app').innerHTML = `<p class="boot error-text">无法打开本地数据：${e.message}</p>`;
});
