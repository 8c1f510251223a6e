// The words people read, from the server's one table (`GET /v1/schema`, docs/protocol.md
// §9.17), loaded once after sign-in: the console's screens read every label here.

import { api } from './api.js';
import { Schema } from './schema.js';

let current = null;

/** Loads the document (once per page). */
export async function loadWords() {
  if (!current) current = new Schema(await api.get('/v1/schema'));
  return current;
}

/** The loaded document: call after `loadWords` has resolved. */
export function words() {
  return current;
}
