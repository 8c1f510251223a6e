// A small promise layer over IndexedDB: open a database, run one transaction over some stores.

export function openDb(name, version, upgrade) {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, version);
    req.onupgradeneeded = (e) => upgrade(req.result, req.transaction, e.oldVersion);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error('数据库被其他页面占用，请关闭本应用的其他页面'));
  });
}

/** A request's result as a promise. */
export function req(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/**
 * Runs `fn(stores)` in one transaction over `names` and resolves with its result once the
 * transaction has committed, or rejects if it aborted. `strict` (the default) resolves only
 * once the data is on disk; `relaxed` is still atomic but may be lost whole in a crash, for
 * what can be fetched again (pulled pages with their cursor).
 */
export function tx(db, names, mode, fn, durability = 'strict') {
  return new Promise((resolve, reject) => {
    const t = db.transaction(names, mode, { durability });
    const stores = {};
    for (const n of names) stores[n] = t.objectStore(n);
    let result;
    t.oncomplete = () => resolve(result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error || new Error('transaction aborted'));
    Promise.resolve()
      .then(() => fn(stores, t))
      .then((r) => {
        result = r;
      })
      .catch((e) => {
        try {
          t.abort();
        } catch {
          // already finished
        }
        reject(e);
      });
  });
}
