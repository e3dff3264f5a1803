// stockd live feed client, shared by the pages (floor, manage, scan).
//
// Protocol (web_ui/feed.py; SPEC "Live feed"): the first message is
// {"type": "hello", "token", "since"}; the server answers with a `snapshot` (which
// carries the `seq` it is current to) or with the events after `since`, then streams
// events {"seq", "type", "ts", ...} in seq order.
//
//   import { Feed } from "/static/feed.js";
//   const feed = new Feed({
//     token,
//     onSnapshot(msg) { ... replace the whole model ... },
//     onEvent(ev) { ... apply one event ... },
//     onState(state, detail) { ... },
//   });
//   feed.start();
//
// What it does for every page, once:
// - sends `since` = the last seq seen when it reconnects, so the server replays what was
//   missed, once each, in order (or sends a fresh snapshot when that is too far back);
// - drops an event whose seq it has already seen, and resets to a snapshot whenever one
//   comes (at start, after a long absence, or when this client fell behind);
// - reconnects by itself with capped exponential backoff and jitter (screens on one
//   floor do not stampede a restarted server);
// - pings now and then and treats a ping left unanswered as a lost connection (a
//   half-open socket through a sleeping Wi-Fi access point looks open for minutes);
// - reads the close code through one table, CLOSE_REASON. 4401 (token unknown, revoked
//   or expired: the reason says which) and 4403 (this role may not read the feed) stop
//   reconnecting: retrying the same token cannot help.
//
// States given to onState(state, detail):
//   "connecting"    before the first answer;
//   "live"          a message came after the hello (the server answers a ping only once
//                   the hello is accepted, so this holds even with nothing to catch up);
//   "reconnecting"  detail: why, in words ("connection lost", "database unavailable", …);
//   "auth-failed"   detail: {code, reason}; the feed has stopped.
// feed.setToken(t) switches to another token (and starts again after auth-failed);
// feed.stop() closes for good.
//
// Another socket of the same shape (a hello, then messages; ping/pong; these close
// codes) reuses the connection handling with three options: `path`, `hello()` (the
// hello message to send; default the feed's) and `onMessage(msg)` (every message but
// `pong`, as it comes: no seq bookkeeping, no snapshots). `stopCodes` adds close codes
// after which retrying cannot help. The handheld page's /scan/ws does this.

export const BACKOFF_START_MS = 500;
export const BACKOFF_CAP_MS = 10_000;
const PING_EVERY_MS = 15_000;
const PONG_PATIENCE_MS = 10_000;
const TICK_MS = 500;

// the close codes the feed sends (web_ui/feed.py CLOSE) and the usual transport ones
export const CLOSE_REASON = {
  1001: "server restarting",
  1006: "connection lost",
  1011: "server error",
  1013: "database unavailable",
  4400: "feed refused a malformed message",
  4401: "unknown or revoked token",
  4403: "this token's role may not read the feed",
  4404: "unknown warehouse",
  4408: "hello timed out",
  4409: "this handheld connected again elsewhere",
};

// retrying cannot help: a new token is needed
export const STOP_CODES = new Set([4401, 4403]);

function seqOf(value) {
  const n = Number(value);
  return value === null || value === undefined || !Number.isFinite(n) ? null : n;
}

export class Feed {
  constructor({ token, onSnapshot, onEvent, onState, path = "/feed", hello, onMessage, stopCodes }) {
    this.token = token;
    this.onSnapshot = onSnapshot || (() => {});
    this.onEvent = onEvent || (() => {});
    this.onState = onState || (() => {});
    this.path = path;
    this.hello = hello || (() => ({ type: "hello", token: this.token, since: this.seq }));
    this.onMessage = onMessage || null;
    this.stopCodes = new Set([...STOP_CODES, ...(stopCodes || [])]);
    this.seq = null; // last seq applied; sent as `since` on reconnect
    this.state = "idle";
    this.ws = null;
    this.attempts = 0;
    this.retryTimer = null;
    this.ticker = null;
    this.lastMessageAt = 0;
    this.pingSentAt = 0;
  }

  start() {
    if (this.ticker === null) this.ticker = setInterval(() => this.tick(), TICK_MS);
    this.setState("connecting");
    this.connect();
  }

  stop() {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.ticker !== null) clearInterval(this.ticker);
    this.retryTimer = this.ticker = null;
    this.drop();
    this.state = "idle";
  }

  setToken(token) {
    this.token = token;
    this.attempts = 0;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.start();
  }

  setState(state, detail) {
    this.state = state;
    this.onState(state, detail);
  }

  drop() {
    if (!this.ws) return;
    const old = this.ws;
    this.ws = null;
    old.onopen = old.onmessage = old.onclose = old.onerror = null;
    try {
      old.close();
    } catch {
      // already closing
    }
  }

  connect() {
    this.retryTimer = null;
    this.drop();
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const sock = new WebSocket(`${scheme}://${location.host}${this.path}`);
    this.ws = sock;
    sock.onopen = () => {
      sock.send(JSON.stringify(this.hello()));
      sock.send(JSON.stringify({ type: "ping" }));
      this.pingSentAt = performance.now();
    };
    sock.onmessage = (e) => {
      if (this.ws !== sock) return;
      this.lastMessageAt = performance.now();
      if (this.state !== "live") {
        this.attempts = 0;
        this.setState("live");
      }
      this.receive(e.data);
    };
    sock.onclose = (e) => {
      if (this.ws !== sock) return;
      this.ws = null;
      this.closed(e.code, e.reason);
    };
  }

  closed(code, reason) {
    if (this.stopCodes.has(code)) {
      this.setState("auth-failed", { code, reason: reason || CLOSE_REASON[code] });
      return;
    }
    const backoff = Math.min(BACKOFF_CAP_MS, BACKOFF_START_MS * 2 ** this.attempts);
    const delay = backoff * (0.8 + Math.random() * 0.4);
    this.attempts += 1;
    this.setState("reconnecting", CLOSE_REASON[code] || reason || `closed (${code})`);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  receive(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (!msg || typeof msg !== "object" || typeof msg.type !== "string") return;
    if (msg.type === "pong") return;
    if (this.onMessage) {
      this.onMessage(msg);
      return;
    }
    if (msg.type === "error") {
      console.warn("feed:", msg.reason);
      return;
    }
    if (msg.type === "snapshot") {
      this.seq = seqOf(msg.seq);
      this.onSnapshot(msg);
      return;
    }
    const seq = seqOf(msg.seq);
    if (seq !== null) {
      if (this.seq !== null && seq <= this.seq) return; // already applied
      this.seq = seq;
    }
    this.onEvent(msg);
  }

  // send one message on the open socket; false when there is none
  send(message) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(message));
    return true;
  }

  tick() {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.state !== "live") return;
    const now = performance.now();
    if (this.pingSentAt > this.lastMessageAt && now - this.pingSentAt > PONG_PATIENCE_MS) {
      this.drop(); // a half-open connection: nothing came back to our ping
      this.closed(1006, "no answer to ping");
    } else if (now - this.pingSentAt > PING_EVERY_MS) {
      ws.send(JSON.stringify({ type: "ping" }));
      this.pingSentAt = now;
    }
  }
}
