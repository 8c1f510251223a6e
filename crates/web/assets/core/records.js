// Records for the office: the small collections a queue needs, read whole through the pull,
// and changes written through the push, so that an approval in the console is validated,
// audited and synced exactly like a device's edit.

import { api, deviceId } from './api.js';

/** Every live record of `collections` in the caller's scope: id → {collection, id, org_unit_id, version, fields}. */
export async function pullAll(collections) {
  const records = new Map();
  let cursor;
  for (;;) {
    const page = await api.get('/v1/sync/pull', {
      cursor,
      limit: 1000,
      collections: collections.join(','),
    });
    for (const c of page.changes) {
      if (c.deleted) records.delete(c.id);
      else records.set(c.id, c);
    }
    cursor = page.cursor;
    if (!page.has_more) return records;
  }
}

/** A fresh mutation id for this browser: strictly increasing, kept across reloads. */
function nextMutationId() {
  const key = `paicha.mutation_id.${deviceId()}`;
  const last = Number(localStorage.getItem(key) || 0);
  const next = Math.max(last + 1, Date.now() * 1000);
  localStorage.setItem(key, String(next));
  return next;
}

/**
 * Patches one record's fields, based on the version the user saw. Resolves with the result;
 * a refusal rejects with the server's Chinese message (and the field it concerns).
 */
export async function patch(record, fields) {
  return push({
    mutation_id: nextMutationId(),
    collection: record.collection,
    id: record.id,
    op: 'patch',
    base_version: record.version,
    fields,
  });
}

/** Creates a record of `collection` owned by `orgUnitId`; resolves or rejects like `patch`. */
export async function put(collection, orgUnitId, fields) {
  return push({
    mutation_id: nextMutationId(),
    collection,
    id: crypto.randomUUID(),
    org_unit_id: orgUnitId,
    op: 'put',
    fields,
  });
}

async function push(mutation) {
  const response = await api.post('/v1/sync/push', { device_id: deviceId(), mutations: [mutation] });
  const result = response.results[0];
  if (result.status === 'rejected') {
    const e = new Error(result.error?.message || '操作被拒绝');
    e.code = result.error?.code;
    e.field = result.error?.field;
    throw e;
  }
  return result;
}
