// Live updates: one long-poll per open page (never one per widget). It waits on the change
// feed (`GET /v1/sync/pull?wait=`) from the current head, and when anything in the caller's
// scope changes it tells every subscriber once, then waits again from the new head. Views
// re-read what they show.

import { api } from './api.js';

const WAIT_SECONDS = 25;
const subscribers = new Set();
let running = false;

/** The current head of the caller's change feed: a cheap checksum's cursor. */
async function head() {
  const sums = await api.get('/v1/sync/checksum', { collections: 'campaigns' });
  return sums.cursor;
}

async function loop() {
  let cursor = null;
  let backoff = 1000;
  while (subscribers.size > 0) {
    try {
      if (!cursor) cursor = await head();
      const page = await api.get(
        '/v1/sync/pull',
        { cursor, limit: 1, wait: WAIT_SECONDS },
        { timeout: (WAIT_SECONDS + 30) * 1000 },
      );
      backoff = 1000;
      if (page.changes.length > 0) {
        // Skip the rest of the burst: the views re-read everything anyway.
        cursor = null;
        for (const fn of [...subscribers]) fn();
      } else {
        cursor = page.cursor;
      }
    } catch (e) {
      if (e.status === 410 || e.status === 400) cursor = null;
      // Signed out, or a role that does not read the change feed: no more waiting.
      if (e.status === 401 || e.status === 403 || e.code === 'session_expired') break;
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 30000);
    }
  }
  running = false;
}

/** Calls `fn` after each change in the caller's scope; returns the unsubscribe function. */
export function onChange(fn) {
  subscribers.add(fn);
  if (!running) {
    running = true;
    loop();
  }
  return () => subscribers.delete(fn);
}
