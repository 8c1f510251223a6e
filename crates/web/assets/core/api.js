// The API client of both web faces: one `fetch` wrapper. It adds the bearer token, refreshes an
// expired access token once (one refresh in flight, shared by every waiting request), turns
// every error body into an ApiError with the server's Chinese message, times requests out, and
// tells listeners when the server becomes unreachable or reachable again. Views never call
// `fetch` themselves.

import { MSG } from './messages.js';

const STORE_KEY = 'paicha.session';

export class ApiError extends Error {
  constructor(status, code, message, field, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    // The whole error body, for answers that say more (an import's row-by-row problems).
    this.body = body;
  }
}

/** A stable id for this browser, made once and kept (the field app's replica is per device). */
export function deviceId() {
  let id = localStorage.getItem('paicha.device_id');
  if (!id) {
    id = `web-${crypto.randomUUID()}`;
    localStorage.setItem('paicha.device_id', id);
  }
  return id;
}

function loadSession(key = STORE_KEY) {
  try {
    return JSON.parse(localStorage.getItem(key) || 'null');
  } catch {
    return null;
  }
}

/** The file name a `Content-Disposition` header gives (its UTF-8 `filename*` first). */
function filenameOf(disposition) {
  if (!disposition) return null;
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  if (star) {
    try {
      return decodeURIComponent(star[1]);
    } catch {
      // fall through to the plain name
    }
  }
  const plain = /filename="([^"]+)"/i.exec(disposition);
  return plain ? plain[1] : null;
}

/** Hands a Blob to the browser as a download named `filename`. */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/** Where sign-outs wait for the server while it cannot be reached. */
const PENDING_LOGOUTS = 'paicha.pending_logouts';

function pendingLogouts() {
  try {
    const list = JSON.parse(localStorage.getItem(PENDING_LOGOUTS) || '[]');
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

function savePendingLogouts(list) {
  if (list.length) localStorage.setItem(PENDING_LOGOUTS, JSON.stringify(list));
  else localStorage.removeItem(PENDING_LOGOUTS);
}

class Api {
  constructor() {
    this.storeKey = STORE_KEY;
    this.session = loadSession();
    this.refreshing = null;
    this.flushing = null;
    this.online = true;
    this.expired = false;
    this.listeners = new Set();
    // Sign-outs made while the server could not be reached are sent now, or when the network
    // is back.
    if (typeof addEventListener === 'function') {
      addEventListener('online', () => this.flushLogouts());
    }
    if (pendingLogouts().length) setTimeout(() => this.flushLogouts(), 0);
  }

  /**
   * Keeps the session under another key: the field app signs in as its own device, apart
   * from a console open in the same browser.
   */
  useStore(key) {
    this.storeKey = key;
    this.session = loadSession(key);
  }

  /** `fn({online, session})` is called when reachability or the session changes. */
  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit() {
    for (const fn of this.listeners) fn({ online: this.online, session: this.session });
  }

  setOnline(online) {
    if (this.online !== online) {
      this.online = online;
      this.emit();
      if (online && pendingLogouts().length) this.flushLogouts();
    }
  }

  /**
   * Keeps the session also where `persist(session)` puts it, and takes `session` as the
   * current one. The field app keeps it in its IndexedDB replica, which a killed browser
   * does not lose (local storage may be written to disk only seconds later), so a rotated
   * refresh token is on disk before it is ever used.
   */
  persistWith(persist, session) {
    this.persist = persist;
    if (session !== undefined) {
      this.session = session;
      if (session) localStorage.setItem(this.storeKey, JSON.stringify(session));
    }
  }

  async saveSession(tokens) {
    this.session = tokens && {
      access_token: tokens.access_token,
      refresh_token: tokens.refresh_token,
      user: tokens.user,
      // The account must set a new password before anything else (§2.1 of the protocol).
      password_change_required: Boolean(tokens.password_change_required),
    };
    if (this.session) localStorage.setItem(this.storeKey, JSON.stringify(this.session));
    else localStorage.removeItem(this.storeKey);
    if (this.persist) await this.persist(this.session);
    this.emit();
  }

  get user() {
    return this.session?.user ?? null;
  }

  /** Signs in; `device` is the device id to sign in with (default: this browser's). */
  async login(username, password, device = deviceId()) {
    const tokens = await this.raw('POST', '/v1/auth/login', {
      body: { username, password, device_id: device },
      auth: false,
    });
    this.expired = false;
    await this.saveSession(tokens);
    return tokens.user;
  }

  /**
   * Signs out: at once here, and on the server, which ends the sign-in (its refresh token
   * and access tokens stop working). When the server cannot be reached the sign-out is kept
   * and sent when it can (at the next start, or when the network is back), so a phone signed
   * out offline never leaves a working session behind.
   */
  async logout() {
    const session = this.session;
    await this.saveSession(null);
    if (!session?.refresh_token) return;
    const pending = pendingLogouts().filter((p) => p.refresh_token !== session.refresh_token);
    pending.push({ access_token: session.access_token, refresh_token: session.refresh_token });
    savePendingLogouts(pending);
    await this.flushLogouts();
  }

  /** Sends the sign-outs kept for the server; those it cannot be told yet stay kept. */
  flushLogouts() {
    if (!this.flushing) {
      this.flushing = (async () => {
        for (const p of pendingLogouts()) {
          try {
            await this.endSignIn(p);
          } catch (e) {
            // Unreachable or failing: try again soon, then less often (a sign-out must reach
            // the server even if nothing else is sent from this page). Any other answer will
            // not change.
            if (e.status === 0 || e.status >= 500) {
              this.retryLogoutsLater();
              return;
            }
          }
          savePendingLogouts(pendingLogouts().filter((x) => x.refresh_token !== p.refresh_token));
        }
        this.logoutDelay = 0;
      })().finally(() => {
        this.flushing = null;
      });
    }
    return this.flushing;
  }

  /** Sends the kept sign-outs again after a delay doubling from 1 s up to a minute. */
  retryLogoutsLater() {
    if (this.logoutRetry) return;
    this.logoutDelay = Math.min(60000, Math.max(1000, (this.logoutDelay || 500) * 2));
    this.logoutRetry = setTimeout(() => {
      this.logoutRetry = null;
      this.flushLogouts();
    }, this.logoutDelay);
  }

  /**
   * Ends one sign-in on the server (docs/protocol.md §2.4): the logout with its access token;
   * an access token expired meanwhile is renewed once with the refresh token first. A refresh
   * token the server no longer accepts means the sign-in is over already.
   */
  async endSignIn({ access_token: access, refresh_token: refresh }) {
    const send = (token, refreshToken) =>
      this.raw('POST', '/v1/auth/logout', {
        body: { refresh_token: refreshToken },
        auth: false,
        headers: { authorization: `Bearer ${token}` },
      });
    try {
      await send(access, refresh);
    } catch (e) {
      if (e.status !== 401) throw e;
      let tokens;
      try {
        tokens = await this.raw('POST', '/v1/auth/refresh', { body: { refresh_token: refresh }, auth: false });
      } catch (r) {
        if (r.status === 401 || r.status === 403) return;
        throw r;
      }
      await send(tokens.access_token, tokens.refresh_token);
    }
  }

  /**
   * Changes the signed-in user's own password; the session goes on, and no longer has to
   * change it.
   */
  async changePassword(current, next) {
    await this.post('/v1/auth/password', { current_password: current, new_password: next });
    if (this.session) {
      this.session = { ...this.session, password_change_required: false };
      localStorage.setItem(this.storeKey, JSON.stringify(this.session));
      if (this.persist) await this.persist(this.session);
      this.emit();
    }
  }

  /** Trades the refresh token for new tokens; one at a time, shared by concurrent callers. */
  refresh() {
    if (!this.refreshing) {
      const token = this.session?.refresh_token;
      this.refreshing = (async () => {
        if (!token) throw new ApiError(401, 'session_expired', MSG.session_expired);
        try {
          const tokens = await this.raw('POST', '/v1/auth/refresh', {
            body: { refresh_token: token },
            auth: false,
          });
          await this.saveSession(tokens);
        } catch (e) {
          if (e.status === 401 || e.status === 403) {
            // Not a sign-out by the user: the sign-in page says the session expired.
            this.expired = true;
            await this.saveSession(null);
            throw new ApiError(401, 'session_expired', MSG.session_expired);
          }
          throw e;
        }
      })().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  /**
   * A request with the session's token; an expired token is refreshed once and the request
   * sent again. Options: `query` (object), `body` (JSON, or FormData / Blob as is), `timeout`
   * (ms), `blob` (answer `{blob, filename}`), `signal`, `headers`.
   */
  async request(method, path, options = {}) {
    try {
      return await this.raw(method, path, options);
    } catch (e) {
      if (e.status === 401 && options.auth !== false) {
        await this.refresh();
        return this.raw(method, path, options);
      }
      throw e;
    }
  }

  get(path, query, options = {}) {
    return this.request('GET', path, { ...options, query });
  }

  post(path, body, options = {}) {
    return this.request('POST', path, { ...options, body });
  }

  async raw(method, path, { query, body, auth = true, timeout = 20000, blob = false, signal, headers: extra } = {}) {
    let url = path;
    if (query) {
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) {
        if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
      }
      const qs = params.toString();
      if (qs) url += `?${qs}`;
    }
    const headers = { ...extra };
    if (auth && this.session?.access_token) {
      headers.authorization = `Bearer ${this.session.access_token}`;
    }
    let payload;
    if (body instanceof FormData || body instanceof Blob) {
      payload = body;
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException('timeout', 'TimeoutError')), timeout);
    if (signal) signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
    let response;
    try {
      response = await fetch(url, { method, headers, body: payload, signal: controller.signal });
    } catch (e) {
      clearTimeout(timer);
      if (signal?.aborted) throw e;
      if (e?.name === 'TimeoutError' || controller.signal.reason?.name === 'TimeoutError') {
        throw new ApiError(0, 'timeout', MSG.timeout);
      }
      this.setOnline(false);
      throw new ApiError(0, 'unreachable', MSG.unreachable);
    }
    clearTimeout(timer);
    // A proxy's 502/503/504 without our error body means the server is not there.
    const isJson = (response.headers.get('content-type') || '').startsWith('application/json');
    if (!isJson && [502, 503, 504].includes(response.status)) {
      this.setOnline(false);
      throw new ApiError(0, 'unreachable', MSG.unreachable);
    }
    this.setOnline(true);
    if (response.ok) {
      if (response.status === 204) return null;
      if (blob) {
        return {
          blob: await response.blob(),
          filename: filenameOf(response.headers.get('content-disposition')),
        };
      }
      return isJson ? response.json() : response.text();
    }
    let answer = null;
    if (isJson) {
      try {
        answer = await response.json();
      } catch {
        answer = null;
      }
    }
    const error = answer?.error;
    const failure = new ApiError(
      response.status,
      error?.code ?? 'unexpected',
      error?.message ?? `${MSG.unexpected}（${response.status}）`,
      error?.field,
      answer,
    );
    // A chunk sent from the wrong position says where to continue (docs/protocol.md §11.2).
    const offset = response.headers.get('upload-offset');
    if (offset !== null) failure.uploadOffset = Number(offset);
    throw failure;
  }
}

export const api = new Api();
