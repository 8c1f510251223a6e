// The field app's local replica, in IndexedDB, as docs/protocol.md §10.1 describes it:
//
// - `segments`: each record exactly as last pulled ((collection, id) → {org_unit_id, version,
//   fields}); the UI never edits it. Kept as a log of segments, not a row per record: each
//   pulled page is one segment ({seq, records}: the page's records as pulled, a deletion as
//   {collection, id, deleted: true}), and reading the segments in order, later over earlier,
//   gives the replica. IndexedDB's cost is per row written (Chromium: 10,000 rows of a roster
//   take 0.8–1.2 s; the same in 10 rows, 0.1–0.2 s), so a first sync writes ten rows, not ten
//   thousand. When the segments hold over twice the live records (or many small pages), they
//   are rewritten as the live records alone (`compact`). Version 1 of the database kept a row
//   per record in `records`; opening it moves them into segments.
// - `outbox`: the device's mutations in order, each with its `mutation_id`, persisted (with the
//   counter, in one transaction) before it is ever sent; `sent` marks one that may have reached
//   the server, after which it is frozen (a retry carries exactly the same content).
// - `meta`: device id, mutation counter, pull cursor, user, schema, org units, sync times.
// - `blobs`: photos and signatures taken here, kept under their SHA-256 until the server has
//   them; `links`: which record field each waits to be linked to (a blob is named by its record
//   only once the server holds it).
// - `rejections`: mutations the server refused, with its Chinese message and field, until the
//   user has seen them; `conflicts`: this device's merged edits that overwrote someone's value.
//
// What the UI shows is `records` with the outbox applied on top, in order (`view`). All of it
// is also held in memory, so lists and searches of a few thousand members need no database read.

import { openDb, req, tx } from './idb.js';

const DB_NAME = 'paicha-field';
const STORES = ['segments', 'outbox', 'meta', 'blobs', 'links', 'rejections', 'conflicts'];
/** Records per segment when the replica is rewritten (a pulled page is one segment as it is). */
const SEGMENT = 1000;

function upgrade(db, t, oldVersion) {
  if (!db.objectStoreNames.contains('segments')) db.createObjectStore('segments', { keyPath: 'seq' });
  if (oldVersion >= 1 && db.objectStoreNames.contains('records')) {
    // Version 1: a row per record. They become segments in this same (upgrade) transaction.
    t.objectStore('records').getAll().onsuccess = (e) => {
      const all = e.target.result;
      const segments = t.objectStore('segments');
      for (let i = 0; i < all.length; i += SEGMENT) segments.put({ seq: i / SEGMENT + 1, records: all.slice(i, i + SEGMENT) });
      db.deleteObjectStore('records');
    };
  }
  if (!db.objectStoreNames.contains('outbox')) db.createObjectStore('outbox', { keyPath: 'mutation_id' });
  if (!db.objectStoreNames.contains('meta')) db.createObjectStore('meta', { keyPath: 'key' });
  if (!db.objectStoreNames.contains('blobs')) db.createObjectStore('blobs', { keyPath: 'sha256' });
  if (!db.objectStoreNames.contains('links')) db.createObjectStore('links', { keyPath: 'seq', autoIncrement: true });
  if (!db.objectStoreNames.contains('rejections')) db.createObjectStore('rejections', { keyPath: 'mutation_id' });
  if (!db.objectStoreNames.contains('conflicts')) db.createObjectStore('conflicts', { keyPath: 'mutation_id' });
}

function randomDeviceId() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return `field-${[...b].map((x) => x.toString(16).padStart(2, '0')).join('')}`;
}

/** Applies a patch's fields to a copy of `fields` (`null` clears). */
function applyFields(fields, changes) {
  const out = { ...fields };
  for (const [k, v] of Object.entries(changes || {})) {
    if (v === null || v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

export class Replica {
  constructor(db) {
    this.db = db;
    this.meta = new Map();
    // collection → Map(id → record as pulled)
    this.server = new Map();
    this.outbox = [];
    this.rejections = [];
    this.conflicts = [];
    this.links = [];
    this.blobInfo = new Map();
    this.views = new Map();
    this.listeners = new Set();
    this.revision = 0;
    // The segments: the next one's key, how many there are and how many records they hold.
    this.nextSeq = 1;
    this.segmentCount = 0;
    this.stored = 0;
    // Writes of the segments, one after another (a rewrite reads the replica in memory, which
    // must already hold every segment written before it).
    this.writing = Promise.resolve();
  }

  /** The replica kept in the database `name` (the app's own by default). */
  static async open(name = DB_NAME) {
    const db = await openDb(name, 2, upgrade);
    const replica = new Replica(db);
    await replica.load();
    return replica;
  }

  /** Reads everything into memory; makes the device id once per installation. */
  async load() {
    const [segments, outbox, meta, rejections, conflicts, links, blobs] = await tx(
      this.db,
      STORES,
      'readwrite',
      async (s) => {
        const all = await Promise.all([
          req(s.segments.getAll()),
          req(s.outbox.getAll()),
          req(s.meta.getAll()),
          req(s.rejections.getAll()),
          req(s.conflicts.getAll()),
          req(s.links.getAll()),
          req(s.blobs.getAll()),
        ]);
        // The device id and the mutation counter live and die together (§4.3): a database
        // without them is a new installation, with a new device id.
        if (!all[2].some((m) => m.key === 'device_id')) {
          const fresh = [
            { key: 'device_id', value: randomDeviceId() },
            { key: 'next_mutation_id', value: 1 },
          ];
          for (const m of fresh) s.meta.put(m);
          all[2].push(...fresh);
        }
        return all;
      },
    );
    this.meta = new Map(meta.map((m) => [m.key, m.value]));
    this.server = new Map();
    this.stored = 0;
    for (const segment of segments) {
      for (const r of segment.records) {
        if (r.deleted) this.table(r.collection).delete(r.id);
        else this.table(r.collection).set(r.id, r);
      }
      this.stored += segment.records.length;
    }
    this.segmentCount = segments.length;
    this.nextSeq = segments.length ? segments[segments.length - 1].seq + 1 : 1;
    this.outbox = outbox.sort((a, b) => a.mutation_id - b.mutation_id);
    this.rejections = rejections;
    this.conflicts = conflicts;
    this.links = links;
    this.blobInfo = new Map(blobs.map((b) => [b.sha256, { ...b, data: undefined }]));
    this.changed();
  }

  table(collection) {
    let t = this.server.get(collection);
    if (!t) {
      t = new Map();
      this.server.set(collection, t);
    }
    return t;
  }

  get deviceId() {
    return this.meta.get('device_id');
  }

  get(key) {
    return this.meta.get(key);
  }

  async setMeta(entries) {
    await tx(this.db, ['meta'], 'readwrite', (s) => {
      for (const [key, value] of Object.entries(entries)) s.meta.put({ key, value });
    });
    for (const [key, value] of Object.entries(entries)) this.meta.set(key, value);
    this.changed();
  }

  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Notes a change: the views are rebuilt on their next read, and the screens are told at
   * most once per 50 ms (a first sync applies ten pages a second; the list need not be sorted
   * again after each).
   */
  changed(collections) {
    this.revision++;
    if (collections) for (const c of collections) this.views.delete(c);
    else this.views.clear();
    if (!this.notifying) {
      this.notifying = setTimeout(() => {
        this.notifying = null;
        for (const fn of this.listeners) fn(this.revision);
      }, 50);
    }
  }

  /**
   * The collection as the user sees it: pulled records with the outbox applied in order.
   * Each entry: {collection, id, org_unit_id, version (server's, 0 if never acknowledged),
   * fields, pending (an unacknowledged edit touches it)}.
   */
  view(collection) {
    let v = this.views.get(collection);
    if (v) return v;
    v = new Map();
    for (const [id, r] of this.table(collection)) v.set(id, { ...r, pending: false });
    for (const m of this.outbox) {
      if (m.collection !== collection) continue;
      const cur = v.get(m.id);
      if (m.op === 'delete') v.delete(m.id);
      else if (m.op === 'put') {
        v.set(m.id, {
          collection,
          id: m.id,
          org_unit_id: cur?.org_unit_id ?? m.org_unit_id,
          version: cur?.version ?? 0,
          fields: applyFields(cur?.fields ?? {}, m.fields),
          pending: true,
        });
      } else if (cur) {
        v.set(m.id, { ...cur, fields: applyFields(cur.fields, m.fields), pending: true });
      }
    }
    this.views.set(collection, v);
    return v;
  }

  record(collection, id) {
    return this.view(collection).get(id) ?? null;
  }

  // ---- the outbox ------------------------------------------------------------------------

  /**
   * Adds an edit: `{collection, id, op, org_unit_id?, fields?}`. An unsent entry of the same
   * record absorbs it (§10.2.6); otherwise it gets the next mutation id, persisted with the
   * counter in the same transaction.
   */
  async enqueue(edit) {
    const server = this.table(edit.collection).get(edit.id);
    const entry = await tx(this.db, ['outbox', 'meta'], 'readwrite', async (s) => {
      const last = [...this.outbox].reverse().find((m) => m.collection === edit.collection && m.id === edit.id);
      if (last && !last.sent && edit.op === 'patch' && last.op !== 'delete') {
        const merged = { ...last, fields: { ...last.fields, ...edit.fields }, client_time: new Date().toISOString() };
        if (last.op === 'put') {
          // A create takes the final values; a cleared field is simply left out.
          for (const [k, v] of Object.entries(merged.fields)) if (v === null) delete merged.fields[k];
        }
        s.outbox.put(merged);
        return merged;
      }
      const counter = (await req(s.meta.get('next_mutation_id')))?.value ?? 1;
      s.meta.put({ key: 'next_mutation_id', value: counter + 1 });
      const m = {
        mutation_id: counter,
        collection: edit.collection,
        id: edit.id,
        op: edit.op,
        client_time: new Date().toISOString(),
        sent: false,
      };
      if (edit.op === 'put') m.org_unit_id = edit.org_unit_id ?? server?.org_unit_id;
      if (edit.op === 'patch' && server) m.base_version = server.version;
      if (edit.op !== 'delete') m.fields = edit.fields;
      s.outbox.put(m);
      this.meta.set('next_mutation_id', counter + 1);
      return m;
    });
    const i = this.outbox.findIndex((m) => m.mutation_id === entry.mutation_id);
    if (i >= 0) this.outbox[i] = entry;
    else this.outbox.push(entry);
    this.changed([edit.collection]);
    return entry;
  }

  /** The next batch to push: the first entries in order, at most `max`, marked sent first. */
  async takeBatch(max) {
    const batch = this.outbox.slice(0, max);
    const unsent = batch.filter((m) => !m.sent);
    if (unsent.length > 0) {
      await tx(this.db, ['outbox'], 'readwrite', (s) => {
        for (const m of unsent) s.outbox.put({ ...m, sent: true });
      });
      for (const m of unsent) m.sent = true;
    }
    return batch;
  }

  /**
   * Settles a pushed batch with the server's results, in one transaction: applied, merged and
   * duplicate entries leave the outbox; rejected ones leave it too and are kept for the user
   * with the server's message; merged ones note what they overwrote.
   */
  async settle(batch, results) {
    const rejected = [];
    const merged = [];
    const reused = [];
    batch.forEach((m, i) => {
      const r = results[i];
      const status = r.status === 'duplicate' ? r.first_status : r.status;
      if (r.status === 'rejected' && r.error?.code === 'mutation_id_reused') reused.push(m);
      else if (status === 'rejected') rejected.push({ mutation_id: m.mutation_id, mutation: m, error: r.error ?? {}, at: new Date().toISOString() });
      else if (status === 'merged' && r.status !== 'duplicate' && r.conflicts?.length) {
        merged.push({ mutation_id: m.mutation_id, collection: m.collection, id: m.id, conflicts: r.conflicts, at: new Date().toISOString() });
      }
    });
    await tx(this.db, ['outbox', 'rejections', 'conflicts', 'meta'], 'readwrite', async (s) => {
      for (const m of batch) s.outbox.delete(m.mutation_id);
      for (const r of rejected) s.rejections.put(r);
      for (const c of merged) s.conflicts.put(c);
      if (reused.length > 0) {
        // The counter went backwards (§4.3): move past every id used, and send these again
        // under fresh ids.
        let counter = Math.max((await req(s.meta.get('next_mutation_id')))?.value ?? 1, ...batch.map((m) => m.mutation_id + 1));
        for (const m of reused) {
          const again = { ...m, mutation_id: counter++, sent: false };
          s.outbox.put(again);
          m.replacement = again;
        }
        s.meta.put({ key: 'next_mutation_id', value: counter });
      }
    });
    const done = new Set(batch.map((m) => m.mutation_id));
    this.outbox = this.outbox.filter((m) => !done.has(m.mutation_id));
    for (const m of reused) this.outbox.push(m.replacement);
    this.outbox.sort((a, b) => a.mutation_id - b.mutation_id);
    this.rejections.push(...rejected);
    this.conflicts.push(...merged);
    this.changed();
    return { rejected, merged };
  }

  async dismiss(store, mutationId) {
    await tx(this.db, [store], 'readwrite', (s) => s[store].delete(mutationId));
    this[store] = this[store].filter((r) => r.mutation_id !== mutationId);
    this.changed();
  }

  // ---- pulls -----------------------------------------------------------------------------

  /** Applies one pull page and stores its cursor, in one transaction (§5.5). */
  /** Runs `fn` once the segment writes before it are done; in order, one at a time. */
  serially(fn) {
    const run = this.writing.then(fn);
    this.writing = run.catch(() => {});
    return run;
  }

  /** Stores a pulled page as one segment, with its cursor, and applies it in memory. */
  applyPage(page) {
    return this.serially(async () => {
      const records = page.changes.map((c) =>
        c.deleted
          ? { collection: c.collection, id: c.id, deleted: true }
          : { collection: c.collection, id: c.id, org_unit_id: c.org_unit_id, version: c.version, fields: c.fields },
      );
      const seq = this.nextSeq;
      await tx(this.db, ['segments', 'meta'], 'readwrite', (s) => {
        if (records.length > 0) s.segments.put({ seq, records });
        s.meta.put({ key: 'cursor', value: page.cursor });
      }, 'relaxed'); // a page lost in a crash is lost with its cursor, and pulled again
      if (records.length > 0) this.appended(records.length);
      const touched = new Set();
      for (const r of records) {
        touched.add(r.collection);
        if (r.deleted) this.table(r.collection).delete(r.id);
        else this.table(r.collection).set(r.id, r);
      }
      this.meta.set('cursor', page.cursor);
      if (touched.size > 0) this.changed([...touched]);
      await this.compactIfWorthIt();
    });
  }

  /** Replaces one collection by a full pull of it (checksum repair, §7.3); the cursor stays. */
  replaceCollection(collection, live) {
    return this.serially(async () => {
      const records = [];
      for (const id of this.table(collection).keys()) if (!live.has(id)) records.push({ collection, id, deleted: true });
      for (const r of live.values()) records.push(r);
      const seq = this.nextSeq;
      await tx(this.db, ['segments'], 'readwrite', (s) => {
        if (records.length > 0) s.segments.put({ seq, records });
      }, 'relaxed');
      if (records.length > 0) this.appended(records.length);
      this.server.set(collection, new Map(live));
      this.changed([collection]);
      await this.compactIfWorthIt();
    });
  }

  appended(n) {
    this.nextSeq++;
    this.segmentCount++;
    this.stored += n;
  }

  /** Live records in the replica. */
  liveCount() {
    let n = 0;
    for (const t of this.server.values()) n += t.size;
    return n;
  }

  /**
   * Rewrites the segments as the live records alone, when they hold more than twice as many
   * records (updates and deletions pulled since) or many more segments than the live records
   * fill (a long-poll's pages of a few changes each). One transaction: a crash keeps the old
   * segments, which say the same.
   */
  async compactIfWorthIt() {
    const live = this.liveCount();
    const needed = Math.ceil(live / SEGMENT);
    if (this.stored <= 2 * live + SEGMENT && this.segmentCount <= 2 * needed + 200) return;
    const all = [];
    for (const t of this.server.values()) for (const r of t.values()) all.push(r);
    await tx(this.db, ['segments'], 'readwrite', (s) => {
      s.segments.clear();
      for (let i = 0; i < all.length; i += SEGMENT) s.segments.put({ seq: i / SEGMENT + 1, records: all.slice(i, i + SEGMENT) });
    }, 'relaxed');
    this.nextSeq = needed + 1;
    this.segmentCount = needed;
    this.stored = all.length;
  }

  /** Drops the pulled records and the cursor, keeping the outbox (resync, §10.6). */
  dropReplica() {
    return this.serially(async () => {
      await tx(this.db, ['segments', 'meta'], 'readwrite', (s) => {
        s.segments.clear();
        s.meta.delete('cursor');
      });
      this.nextSeq = 1;
      this.segmentCount = 0;
      this.stored = 0;
      this.server = new Map();
      this.meta.delete('cursor');
      this.changed();
    });
  }

  /** Everything of this installation, device id included (sign-out with wipe). */
  wipe() {
    return this.serially(async () => {
      await tx(this.db, STORES, 'readwrite', (s) => {
        for (const n of STORES) s[n].clear();
      });
      await this.load();
    });
  }

  // ---- blobs -----------------------------------------------------------------------------

  /** Keeps a photo or signature under its hash, and which record field it is for. */
  async addBlob(sha256, data, link) {
    const info = { sha256, type: data.type, size: data.size, uploaded: false, received: 0, resumed_from: null, taken_at: new Date().toISOString() };
    const entry = { ...link, sha256 };
    await tx(this.db, ['blobs', 'links'], 'readwrite', async (s) => {
      const have = await req(s.blobs.get(sha256));
      if (!have) s.blobs.put({ ...info, data });
      const seq = await req(s.links.add(entry));
      entry.seq = seq;
    });
    if (!this.blobInfo.has(sha256)) this.blobInfo.set(sha256, info);
    this.links.push(entry);
    this.changed();
  }

  /**
   * A mutation to queue once every photo or signature waiting for the record `after` is named
   * in it: confirming a member needs the form complete on the server first (docs/domain.md
   * §8.7). Kept in the replica like the links, so it survives the app being closed.
   */
  async addThen(after, mutation) {
    const entry = { after, then: mutation };
    await tx(this.db, ['links'], 'readwrite', async (s) => {
      entry.seq = await req(s.links.add(entry));
    });
    this.links.push(entry);
    this.changed();
  }

  async blobData(sha256) {
    const row = await tx(this.db, ['blobs'], 'readonly', (s) => req(s.blobs.get(sha256)));
    return row?.data ?? null;
  }

  async updateBlob(sha256, changes) {
    await tx(this.db, ['blobs'], 'readwrite', async (s) => {
      const row = await req(s.blobs.get(sha256));
      if (row) s.blobs.put({ ...row, ...changes });
    });
    const info = this.blobInfo.get(sha256);
    if (info) Object.assign(info, changes);
    this.changed();
  }

  /** Drops links once their patch is in the outbox (one transaction with the patch's id). */
  async dropLinks(seqs) {
    await tx(this.db, ['links'], 'readwrite', (s) => {
      for (const seq of seqs) s.links.delete(seq);
    });
    this.links = this.links.filter((l) => !seqs.includes(l.seq));
    this.changed();
  }

  /** Photos and signatures not yet on the server, oldest first. */
  pendingBlobs() {
    return [...this.blobInfo.values()].filter((b) => !b.uploaded).sort((a, b) => (a.taken_at < b.taken_at ? -1 : 1));
  }
}
