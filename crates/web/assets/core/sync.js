// The field app's sync loop, docs/protocol.md §10 to the letter:
//
//   round: push the outbox (batches in order, the same batch again after any failure, which
//   §4.3 makes safe) → pull pages from the stored cursor until `has_more` is false (each page
//   applied with its cursor in one transaction) → now and then compare checksums and re-pull
//   only a collection that differs (§7.3) → wait on a long-poll (§6) until something changes
//   here or there.
//
// Photos and signatures upload in a loop of their own (§11.6: one blob at a time, in chunks,
// resumed from where the server stands), so a slow photo never holds back the records; once
// the server holds one, the edit that names it in its record joins the outbox.

import { api, ApiError } from './api.js';
import { sha256 } from './sha256.js';

const BATCH = 200;
const PAGE = 1000;
const WAIT_SECONDS = 25;
const CHECKSUM_EVERY_MS = 10 * 60 * 1000;
const MIN_CHUNK = 64 * 1024;
const MAX_CHUNK = 2 * 1024 * 1024;

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

/** §7.2: one record's contribution to its collection's checksum, as a BigInt. */
function contribution(id, version) {
  const bytes = new Uint8Array(24);
  const hex = id.replace(/-/g, '');
  for (let i = 0; i < 16; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  new DataView(bytes.buffer).setBigUint64(16, BigInt(version));
  const d = sha256(bytes);
  let n = 0n;
  for (let i = 0; i < 16; i++) n = (n << 8n) | BigInt(d[i]);
  return n;
}

/** §7.2: `{count, hash}` of the live records of one collection. */
export function localChecksum(records) {
  let sum = 0n;
  let count = 0;
  const mod = 1n << 128n;
  for (const r of records) {
    sum = (sum + contribution(r.id, r.version)) % mod;
    count++;
  }
  return { count, hash: sum.toString(16).padStart(32, '0') };
}

export class SyncEngine {
  constructor(replica) {
    this.replica = replica;
    this.stopped = true;
    this.state = { running: false, syncing: false, lastSync: replica.get('last_sync') ?? null, error: null, uploading: null };
    this.listeners = new Set();
    this.wake = new AbortController();
    this.blobWake = new AbortController();
  }

  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  set(changes) {
    Object.assign(this.state, changes);
    for (const fn of this.listeners) fn(this.state);
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.set({ running: true });
    this.onOnline = () => this.kick();
    window.addEventListener('online', this.onOnline);
    this.timer = setInterval(() => this.kick(), 60000);
    this.loop();
    this.blobLoop();
  }

  stop() {
    this.stopped = true;
    clearInterval(this.timer);
    window.removeEventListener('online', this.onOnline);
    this.kick();
    this.set({ running: false });
  }

  /** Something changed here (or the network came back): sync now instead of waiting. */
  kick() {
    this.wake.abort();
    this.blobWake.abort();
  }

  async loop() {
    let backoff = 1000;
    while (!this.stopped) {
      const wake = (this.wake = new AbortController());
      try {
        this.set({ syncing: true });
        await this.pushOutbox();
        await this.pullUntilDone();
        await this.maybeCheck();
        const now = new Date().toISOString();
        await this.replica.setMeta({ last_sync: now });
        this.set({ syncing: false, lastSync: now, error: null });
        backoff = 1000;
        this.blobWake.abort();
        if (this.replica.outbox.length > 0 || wake.signal.aborted) continue;
        // Wait for changes on the server, or for an edit here (which aborts the wait).
        const page = await this.pull(WAIT_SECONDS, wake.signal);
        if (page) await this.replica.applyPage(page);
      } catch (e) {
        if (wake.signal.aborted && e?.name === 'AbortError') continue;
        this.set({ syncing: false, error: e });
        if (e?.code === 'session_expired') {
          this.stop();
          return;
        }
        // An unreachable server costs nothing to ask again: look every few seconds, so the
        // device syncs soon after the network comes back. Failures of a server that answered
        // back off up to two minutes.
        await sleep(e?.code === 'unreachable' ? Math.min(backoff, 5000) : backoff, wake.signal);
        backoff = Math.min(backoff * 2, 120000);
      }
    }
  }

  /** §10.3 push_outbox: batches in order; a failed batch is sent again as it was. */
  async pushOutbox() {
    let max = BATCH;
    while (this.replica.outbox.length > 0 && !this.stopped) {
      const batch = await this.replica.takeBatch(max);
      const mutations = batch.map((m) => {
        const out = { mutation_id: m.mutation_id, collection: m.collection, id: m.id, op: m.op, client_time: m.client_time };
        if (m.org_unit_id) out.org_unit_id = m.org_unit_id;
        if (m.base_version !== undefined) out.base_version = m.base_version;
        if (m.fields) out.fields = m.fields;
        return out;
      });
      let response;
      try {
        response = await api.post('/v1/sync/push', { device_id: this.replica.deviceId, mutations }, { timeout: 60000 });
      } catch (e) {
        if (e.status === 413 && max > 1) {
          max = Math.max(1, Math.floor(max / 2));
          continue;
        }
        throw e;
      }
      await this.replica.settle(batch, response.results);
    }
  }

  /** One page after `cursor` (the stored one by default). */
  fetchPage(wait, signal, cursor = this.replica.get('cursor')) {
    return api.get(
      '/v1/sync/pull',
      { cursor, device_id: this.replica.deviceId, limit: PAGE, wait: wait || undefined },
      { timeout: (wait + 30) * 1000, signal },
    );
  }

  /** A page from the stored cursor; a cursor the server can no longer serve starts a resync. */
  async pull(wait, signal) {
    try {
      return await this.fetchPage(wait, signal);
    } catch (e) {
      if (e.status === 410 || (e.status === 400 && e.code === 'invalid_cursor')) {
        await this.resync();
        return null;
      }
      throw e;
    }
  }

  /** Pulls pages until the replica is complete; notes how many changes and how long. */
  async pullUntilDone() {
    const started = performance.now();
    let changes = 0;
    let pages = 0;
    let next = this.pull(0);
    for (;;) {
      const page = await next;
      if (!page) {
        next = this.pull(0);
        continue;
      }
      // The next page is asked for while this one is stored: the network and the server work
      // while IndexedDB writes. Pages are still applied one after the other, in order.
      next = page.has_more && !this.stopped ? this.fetchPage(0, undefined, page.cursor) : null;
      next?.catch(() => {}); // its failure surfaces when it is awaited
      await this.replica.applyPage(page);
      changes += page.changes.length;
      pages++;
      if (!next) break;
    }
    if (changes > 0) this.set({ lastPull: { changes, pages, ms: Math.round(performance.now() - started) } });
  }

  /** §10.6: drop the pulled records (never the outbox) and pull from the start. */
  async resync() {
    await this.replica.dropReplica();
  }

  /** §7.3, every few minutes: compare checksums at a quiet moment; re-pull what differs. */
  async maybeCheck(force = false) {
    const last = this.replica.get('checked_at');
    if (!force && last && Date.now() - Date.parse(last) < CHECKSUM_EVERY_MS) return null;
    const sums = await api.get('/v1/sync/checksum');
    await this.pullUntilDone();
    if (sums.cursor !== this.replica.get('cursor')) return null; // moved on: try later
    const repaired = [];
    for (const [collection, theirs] of Object.entries(sums.collections)) {
      const ours = localChecksum(this.replica.table(collection).values());
      if (ours.count === theirs.count && ours.hash === theirs.hash) continue;
      const live = new Map();
      let cursor;
      for (;;) {
        const page = await api.get('/v1/sync/pull', { cursor, limit: PAGE, collections: collection });
        for (const c of page.changes) {
          if (c.deleted) live.delete(c.id);
          else live.set(c.id, { collection, id: c.id, org_unit_id: c.org_unit_id, version: c.version, fields: c.fields });
        }
        cursor = page.cursor;
        if (!page.has_more) break;
      }
      await this.replica.replaceCollection(collection, live);
      repaired.push(collection);
    }
    await this.replica.setMeta({ checked_at: new Date().toISOString(), last_repair: repaired });
    return repaired;
  }

  // ---- blobs (§11.6) ---------------------------------------------------------------------

  async blobLoop() {
    let backoff = 1000;
    while (!this.stopped) {
      const wake = (this.blobWake = new AbortController());
      const pending = this.replica.pendingBlobs();
      try {
        for (const b of pending) {
          if (this.stopped) return;
          await this.upload(b);
        }
        await this.linkUploaded();
        backoff = 1000;
        if (this.replica.pendingBlobs().length === 0) await sleep(3600000, wake.signal);
      } catch (e) {
        this.set({ uploading: null });
        if (e?.code === 'session_expired') return;
        await sleep(e?.code === 'unreachable' ? Math.min(backoff, 5000) : backoff, wake.signal);
        backoff = Math.min(backoff * 2, 120000);
      }
    }
  }

  async upload(info) {
    const data = await this.replica.blobData(info.sha256);
    if (!data) return;
    const total = data.size;
    let status = await api.get(`/v1/blobs/${info.sha256}/upload`);
    if (status.complete) {
      await this.replica.updateBlob(info.sha256, { uploaded: true, received: total });
      return;
    }
    let offset = status.received;
    if (offset > 0 && info.resumed_from === null) await this.replica.updateBlob(info.sha256, { resumed_from: offset });
    let chunk = Number(localStorage.getItem('paicha.field.chunk')) || 256 * 1024;
    let good = 0;
    this.set({ uploading: { sha256: info.sha256, received: offset, total } });
    while (!this.stopped) {
      const last = Math.min(offset + chunk, total) - 1;
      try {
        const r = await api.request('PUT', `/v1/blobs/${info.sha256}`, {
          body: data.slice(offset, last + 1),
          headers: { 'content-range': `bytes ${offset}-${last}/${total}` },
          timeout: 90000,
        });
        if (r.complete) {
          await this.replica.updateBlob(info.sha256, { uploaded: true, received: total });
          this.set({ uploading: null });
          return;
        }
        offset = r.received;
        await this.replica.updateBlob(info.sha256, { received: offset });
        this.set({ uploading: { sha256: info.sha256, received: offset, total } });
        if (++good >= 3) chunk = Math.min(chunk * 2, MAX_CHUNK);
      } catch (e) {
        if (e.status === 409 && e.uploadOffset !== undefined) {
          offset = e.uploadOffset;
          continue;
        }
        if ([413, 415, 422, 507].includes(e.status)) {
          // Not to be retried: the user must act (§11.6); the record keeps its place.
          await this.replica.updateBlob(info.sha256, { failed: e.message });
          throw e;
        }
        chunk = Math.max(Math.floor(chunk / 2), MIN_CHUNK);
        throw e;
      }
    }
  }

  /** Names each uploaded blob in its record (idempotent: a field that holds it is left alone). */
  async linkUploaded() {
    const ready = this.replica.links.filter((l) => l.sha256 && this.replica.blobInfo.get(l.sha256)?.uploaded);
    for (const l of ready) {
      const rec = this.replica.record(l.collection, l.id);
      if (rec) {
        const cur = rec.fields[l.field];
        if (l.list) {
          const list = Array.isArray(cur) ? cur : [];
          if (!list.includes(l.sha256)) {
            await this.replica.enqueue({ collection: l.collection, id: l.id, op: 'patch', fields: { [l.field]: [...list, l.sha256] } });
          }
        } else if (cur !== l.sha256) {
          await this.replica.enqueue({ collection: l.collection, id: l.id, op: 'patch', fields: { [l.field]: l.sha256 } });
        }
      }
      await this.replica.dropLinks([l.seq]);
    }
    // Mutations waiting for a record's blobs go once none is left to name in it.
    let released = 0;
    for (const l of this.replica.links.filter((x) => x.then)) {
      const waiting = this.replica.links.some((x) => x.sha256 && x.collection === l.after.collection && x.id === l.after.id);
      if (waiting) continue;
      await this.replica.enqueue(l.then);
      await this.replica.dropLinks([l.seq]);
      released += 1;
    }
    if (ready.length > 0 || released > 0) this.wake.abort();
  }
}

export { ApiError };
