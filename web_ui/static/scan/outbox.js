// The handheld page's outbox in IndexedDB: every scan, with its idempotency key, until
// the server has answered it.
//
// A scan is written here before anything else happens to it: its `seq` comes from a
// counter kept in the same database and taken in the same transaction, so the
// sequence survives reloads and two scans never share one. The handheld's id and that
// seq are the scan's idempotency key on the server (handheld:<id>:<seq>): sending a
// scan again is harmless, the server answers its first reply. A scan leaves the outbox
// only when its reply has come; a scan taken offline that the server refuses when it
// is sent moves to `exceptions`, where it stays until a worker resolves it.
//
//   const outbox = await Outbox.open();
//   const entry = await outbox.take("LOC:A-01", { offline: false });  // {seq, code, ...}
//   await outbox.answered(entry.seq);            // or outbox.refused(entry, reason)
//   await outbox.pending();                      // in seq order
//   await outbox.exceptions(); await outbox.resolve(seq);
//   await outbox.reserveAbove(lastSeq);               // the next seq is above lastSeq

const DB = "stockd-scan";
const VERSION = 1;

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
  });
}

export class Outbox {
  constructor(db) {
    this.db = db;
  }

  static async open() {
    const req = indexedDB.open(DB, VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      db.createObjectStore("meta");
      db.createObjectStore("queue", { keyPath: "seq" });
      db.createObjectStore("exceptions", { keyPath: "seq" });
    };
    return new Outbox(await request(req));
  }

  // a new scan, numbered and kept in one transaction
  async take(code, { offline = false, source = "wedge" } = {}) {
    const tx = this.db.transaction(["meta", "queue"], "readwrite");
    const meta = tx.objectStore("meta");
    const next = (await request(meta.get("nextSeq"))) || 1;
    const entry = { seq: next, code, source, offline, takenAt: new Date().toISOString() };
    meta.put(next + 1, "nextSeq");
    tx.objectStore("queue").put(entry);
    await done(tx);
    return entry;
  }

  async reserveAbove(lastSeq) {
    const tx = this.db.transaction("meta", "readwrite");
    const meta = tx.objectStore("meta");
    const next = (await request(meta.get("nextSeq"))) || 1;
    if (next <= lastSeq) meta.put(lastSeq + 1, "nextSeq");
    await done(tx);
  }

  async pending() {
    const tx = this.db.transaction("queue", "readonly");
    return request(tx.objectStore("queue").getAll()); // key order: seq order
  }

  async markOffline(seqs) {
    if (!seqs.length) return;
    const tx = this.db.transaction("queue", "readwrite");
    const queue = tx.objectStore("queue");
    for (const seq of seqs) {
      const entry = await request(queue.get(seq));
      if (entry && !entry.offline) queue.put({ ...entry, offline: true });
    }
    await done(tx);
  }

  async answered(seq) {
    const tx = this.db.transaction("queue", "readwrite");
    tx.objectStore("queue").delete(seq);
    await done(tx);
  }

  // refused when it was finally sent: an exception to resolve, in the same transaction
  async refused(entry, reason) {
    const tx = this.db.transaction(["queue", "exceptions"], "readwrite");
    tx.objectStore("queue").delete(entry.seq);
    tx.objectStore("exceptions").put({ ...entry, reason, refusedAt: new Date().toISOString() });
    await done(tx);
  }

  async exceptions() {
    const tx = this.db.transaction("exceptions", "readonly");
    return request(tx.objectStore("exceptions").getAll());
  }

  async resolve(seq) {
    const tx = this.db.transaction("exceptions", "readwrite");
    tx.objectStore("exceptions").delete(seq);
    await done(tx);
  }
}
