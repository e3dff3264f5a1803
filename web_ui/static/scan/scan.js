// stockd handheld page at /scan/: a phone or an Android mobile computer as a scanner.
//
// A thin client. Every scan (a keyboard-wedge burst, a camera read, a typed code, a
// command button) is written to the outbox in IndexedDB with its idempotency key (this
// handheld's id + a sequence kept on the device), then sent as the raw line over the
// /scan/ws socket (web_ui/handheld.py). The server runs the gateway's own decoder and
// scanner session on it and answers exactly one ack or nak per scan, which is shown
// (full-screen flash, the reason in large text), heard (WebAudio beeps) and felt
// (vibration). The page never interprets a scan; what the session holds (mode,
// location, quantity, order or PO, a count or a move in progress) comes from the
// server with each reply.
//
// Offline: while the socket is down, scans wait in the outbox (shown as waiting) and go
// out in order, exactly once, when it is back: the server answers a scan it already
// took with its first reply. A scan refused when it was finally sent is kept as an
// exception until a worker resolves it (and the server records it as a spool exception
// for a manager, as it does for a serial gateway's spooled scan refused on replay). A service worker (/scan/sw.js) keeps the page
// itself, so it loads with the server out of reach.
//
// Sign-in: /scan/#token=<worker token> (a QR code of that URL signs a device in with
// one scan) or the sign-in form; the token is kept in localStorage for the device. A
// token the server refuses (4401, 4403) brings the sign-in form back with the reason.
//
// Testing hooks (tests read these, never CSS classes):
//   html[data-signed-in] "true"|"false"; html[data-offline-ready] "true" once the
//     service worker controls the page's files
//   #signin (hidden unless signed out), #signin-reason[data-reason] (the close code's
//     reason, or "")
//   #conn[data-state] connecting|live|reconnecting|auth-failed|replaced
//   #worker[data-worker], #scanner-id[data-scanner] (worker and session as last heard
//     while the server is out of reach)
//   #mode[data-mode], #location[data-location], #quantity[data-quantity],
//     #order[data-order][data-po]
//   #flash[data-result] ack|nak|pending (the last flash), #result[data-result][data-seq],
//     #message (the reason or what was done)
//   #held li[data-product][data-quantity][data-lot][data-serials] (a count or a move in
//     progress; data-serials: its serials, space-separated)
//   #serial-wait[data-product][data-remaining] (shown while a scan of a serial-tracked
//     product waits for its serials: SN:<serial>)
//   #queue-panel[data-count], #queue li[data-seq][data-code] (waiting to be sent; the
//     first eight are listed)
//   #exceptions-panel[data-count], #exceptions li[data-seq][data-code][data-reason],
//     each with a button[data-resolve]
//   #recent li[data-seq][data-result][data-code] (newest first; result ack|nak|pending)
//   #camera-panel[data-state] off|starting|on|error, [data-decoder]
//     barcode-detector|zxing
//   html[data-sent] scans answered since the page loaded

import { CLOSE_REASON, Feed } from "/static/feed.js";
import { Camera } from "/static/scan/camera.js";
import { Outbox } from "/static/scan/outbox.js";
import { Wedge } from "/static/scan/wedge.js";

const TOKEN_KEY = "stockd.scan.token";
const SCANNER_KEY = "stockd.scan.scanner";
const SEPARATOR_KEY = "stockd.scan.separator";
const LAST_KEY = "stockd.scan.last"; // the worker and session as last heard, for offline loads
const WINDOW = 64; // scans sent and not yet answered, at most
const RECENT = 12;
const AUTH_CODES = new Set([4401, 4403]);

const $ = (id) => document.getElementById(id);
const html = document.documentElement;

// -- the device: its scanner id and token ---------------------------------------------

function scannerId() {
  let id = localStorage.getItem(SCANNER_KEY);
  if (!id) {
    const alphabet = "abcdefghijkmnpqrstuvwxyz23456789";
    const bytes = crypto.getRandomValues(new Uint8Array(8));
    id = "web-" + Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
    localStorage.setItem(SCANNER_KEY, id);
  }
  return id;
}

function tokenFromText(text) {
  const match = /#token=([^&\s]+)/.exec(text) || /^(stk_\S+)$/.exec(text.trim());
  return match ? decodeURIComponent(match[1]) : null;
}

function tokenFromFragment() {
  const token = tokenFromText(location.hash);
  if (token) {
    localStorage.setItem(TOKEN_KEY, token);
    history.replaceState(null, "", location.pathname + location.search); // not left on screen
  }
  return token;
}

// -- feedback: flash, sound, vibration --------------------------------------------------

let audio = null;

function beep(kind) {
  try {
    audio = audio || new AudioContext();
    if (audio.state === "suspended") audio.resume();
    const tones = {
      ack: [[1760, 0, 0.09]],
      nak: [[330, 0, 0.18], [262, 0.24, 0.3]],
      pending: [[880, 0, 0.07], [880, 0.12, 0.07]],
    }[kind];
    for (const [freq, start, length] of tones) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = kind === "nak" ? "square" : "sine";
      osc.frequency.value = freq;
      gain.gain.value = 0.25;
      osc.connect(gain).connect(audio.destination);
      const at = audio.currentTime + start;
      osc.start(at);
      osc.stop(at + length);
    }
  } catch {
    // no sound on this device
  }
}

let flashTimer = null;

function feedback(kind, seq, verdict, message) {
  const flash = $("flash");
  flash.dataset.result = kind;
  flash.classList.add("on");
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => flash.classList.remove("on"), kind === "nak" ? 1400 : 500);
  const result = $("result");
  result.dataset.result = kind;
  result.dataset.seq = String(seq ?? "");
  $("verdict").textContent = verdict;
  $("message").textContent = message;
  beep(kind);
  if (navigator.vibrate) navigator.vibrate(kind === "nak" ? [250, 100, 250] : kind === "ack" ? 60 : [40, 60, 40]);
}

// -- what is shown ----------------------------------------------------------------------

function node(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("data-")) el.setAttribute(k, v ?? "");
    else el[k] = v;
  }
  el.append(...children.filter((c) => c !== null && c !== undefined));
  return el;
}

function shown(code) {
  return code.replaceAll("\x1d", "<GS>");
}

function remember(change) {
  let last = {};
  try {
    last = JSON.parse(localStorage.getItem(LAST_KEY) || "{}");
  } catch {
    last = {};
  }
  localStorage.setItem(LAST_KEY, JSON.stringify({ ...last, ...change }));
}

function showWorker(name) {
  $("worker").dataset.worker = name || "";
  $("worker").textContent = name || "";
}

function showSession(session) {
  if (!session) return;
  remember({ session });
  const mode = $("mode");
  mode.dataset.mode = session.mode || "";
  mode.textContent = (session.mode || "–").toUpperCase();
  const loc = $("location");
  loc.dataset.location = session.location || "";
  loc.textContent = session.location || "scan a location";
  const qty = $("quantity");
  qty.dataset.quantity = session.quantity ?? "";
  qty.textContent = session.quantity ? `× ${session.quantity}` : "1";
  const order = $("order");
  order.dataset.order = session.order || "";
  order.dataset.po = session.purchase_order || "";
  order.textContent = session.order
    ? `order ${session.order}`
    : session.purchase_order
      ? `PO ${session.purchase_order}`
      : "–";
  const wait = session.serial_wait;
  const waiting = $("serial-wait");
  waiting.hidden = !wait;
  waiting.dataset.product = wait ? wait.sku || wait.barcode : "";
  waiting.dataset.remaining = wait ? String(wait.quantity) : "";
  waiting.querySelector(".what").textContent = wait
    ? `${wait.product}: scan ${wait.quantity === 1 ? "its serial" : `${wait.quantity} serials`}`
    : "";
  const held = session.pending || [];
  $("held-panel").hidden = held.length === 0;
  $("held-title").textContent =
    session.mode === "move" ? `Moving from ${session.location}` : `Counting at ${session.location}`;
  $("held").replaceChildren(
    ...held.map((line) =>
      node(
        "li",
        {
          "data-product": line.sku || line.barcode,
          "data-quantity": String(line.quantity),
          "data-lot": line.lot || "",
          "data-serials": (line.serials || []).join(" "),
        },
        node("span", { className: "what", textContent: line.product + (line.lot ? ` lot ${line.lot}` : "") }),
        node("span", { className: "qty", textContent: String(line.quantity) }),
      ),
    ),
  );
}

function showQueue() {
  const entries = [...pending.values()];
  $("queue-panel").dataset.count = String(entries.length);
  $("queue-panel").hidden = entries.length === 0;
  $("queue-count").textContent = String(entries.length);
  const more = entries.length > 8 ? [node("li", { className: "more", textContent: `and ${entries.length - 8} more` })] : [];
  $("queue").replaceChildren(
    ...entries.slice(0, 8).map((e) => node("li", { "data-seq": String(e.seq), "data-code": e.code, textContent: shown(e.code) })),
    ...more,
  );
}

async function showExceptions() {
  const list = await outbox.exceptions();
  $("exceptions-panel").dataset.count = String(list.length);
  $("exceptions-panel").hidden = list.length === 0;
  $("exceptions").replaceChildren(
    ...list.map((x) =>
      node(
        "li",
        { "data-seq": String(x.seq), "data-code": x.code, "data-reason": x.reason },
        node("div", { className: "code", textContent: shown(x.code) }),
        node("div", { className: "reason", textContent: x.reason }),
        node("button", { type: "button", className: "resolve", textContent: "Resolved", "data-resolve": String(x.seq) }),
      ),
    ),
  );
}

function recentItem(seq) {
  return $("recent").querySelector(`li[data-seq="${seq}"]`);
}

function showRecent(seq, code, result, text) {
  let li = recentItem(seq);
  if (!li) {
    li = node("li", { "data-seq": String(seq) });
    $("recent").prepend(li);
    while ($("recent").children.length > RECENT) $("recent").lastElementChild.remove();
  }
  li.dataset.result = result;
  li.dataset.code = code;
  li.replaceChildren(node("span", { className: "code", textContent: shown(code) }), node("span", { className: "text", textContent: text }));
}

function setConn(state, text) {
  const conn = $("conn");
  conn.dataset.state = state;
  conn.textContent = text;
}

// -- scans in and out ---------------------------------------------------------------------

let outbox = null;
let feed = null;
let welcomed = false;
let sentUpTo = 0; // the highest seq sent on this connection
const pending = new Map(); // seq -> outbox entry, in seq order
let chain = Promise.resolve(); // scans are numbered and sent one after another
let answeredCount = 0;

function online() {
  return welcomed && feed !== null && feed.state === "live";
}

function scan(code, source) {
  if (!code) return;
  chain = chain.then(() => take(code, source)).catch((err) => console.error("scan:", err));
}

async function take(code, source) {
  const live = online();
  const entry = await outbox.take(code, { offline: !live, source });
  pending.set(entry.seq, entry);
  showQueue();
  if (live) {
    showRecent(entry.seq, code, "pending", "sending…");
    pump();
  } else {
    showRecent(entry.seq, code, "pending", "kept on this device");
    feedback("pending", entry.seq, "SAVED", `${shown(code)}: kept on this device, sent when the server is back`);
  }
}

function pump() {
  if (!online()) return;
  let inFlight = 0;
  for (const entry of pending.values()) if (entry.seq <= sentUpTo) inFlight += 1;
  for (const entry of pending.values()) {
    if (inFlight >= WINDOW) break;
    if (entry.seq <= sentUpTo) continue;
    const scan = { type: "scan", seq: entry.seq, code: entry.code, offline: entry.offline, taken_at: entry.takenAt };
    if (!feed.send(scan)) return;
    sentUpTo = entry.seq;
    inFlight += 1;
  }
}

async function reply(msg) {
  const entry = pending.get(msg.seq);
  if (!entry) return; // answered already (a duplicate reply)
  pending.delete(msg.seq);
  const ok = msg.type === "ack";
  const text = ok ? msg.detail || "done" : msg.reason || "refused";
  if (!ok && entry.offline) await outbox.refused(entry, text);
  else await outbox.answered(msg.seq);
  answeredCount += 1;
  html.dataset.sent = String(answeredCount);
  if (!msg.replayed || !entry.offline) showSession(msg.session);
  showRecent(msg.seq, entry.code, ok ? "ack" : "nak", text);
  if (!entry.offline) {
    feedback(ok ? "ack" : "nak", msg.seq, ok ? "OK" : "REFUSED", text);
  } else if (!ok) {
    feedback("nak", msg.seq, "REFUSED", `${shown(entry.code)} (sent late): ${text}`);
    await showExceptions();
  } else if (pending.size === 0) {
    feedback("ack", msg.seq, "SENT", "every waiting scan has been sent");
  }
  showQueue();
  pump();
}

function onMessage(msg) {
  switch (msg.type) {
    case "welcome":
      welcomed = true;
      sentUpTo = 0;
      showWorker(msg.worker);
      remember({ worker: msg.worker });
      showSession(msg.session);
      chain = chain.then(async () => {
        await outbox.reserveAbove(msg.last_seq);
        pump();
      });
      break;
    case "ack":
    case "nak":
      chain = chain.then(() => reply(msg)).catch((err) => console.error("reply:", err));
      break;
    case "error":
      // a scan the server could not read at all (e.g. far too long): refused, not resent
      if (Number.isInteger(msg.seq) && pending.has(msg.seq)) onMessage({ ...msg, type: "nak" });
      else console.warn("scan socket:", msg.reason);
      break;
    default:
      break;
  }
}

async function wentOffline() {
  welcomed = false;
  const unanswered = [...pending.values()].filter((e) => !e.offline);
  for (const e of unanswered) e.offline = true; // their answer will come late
  await outbox.markOffline(unanswered.map((e) => e.seq));
}

function onState(state, detail) {
  if (state === "live") {
    setConn("live", "online");
    return;
  }
  if (state === "connecting") {
    setConn("connecting", "connecting…");
    return;
  }
  chain = chain.then(wentOffline);
  if (state === "reconnecting") {
    setConn("reconnecting", `offline: ${detail}; scans are kept on this device`);
  } else if (state === "auth-failed") {
    if (detail && detail.code === 4409) {
      setConn("replaced", "this scanner was opened again elsewhere");
      return;
    }
    setConn("auth-failed", "signed out");
    if (detail && AUTH_CODES.has(detail.code)) {
      localStorage.removeItem(TOKEN_KEY);
      localStorage.removeItem(LAST_KEY);
      signedOut(`The server refused that token: ${detail.reason || CLOSE_REASON[detail.code]}`);
    }
  }
}

// -- sign-in ------------------------------------------------------------------------------

function signedOut(reason) {
  if (feed) feed.stop();
  feed = null;
  welcomed = false;
  html.dataset.signedIn = "false";
  $("app").hidden = true;
  $("signin").hidden = false;
  const why = $("signin-reason");
  why.dataset.reason = reason || "";
  why.textContent = reason || "Sign in with a worker token, or scan its QR code.";
  $("signin-token").value = "";
}

function signIn(token) {
  localStorage.setItem(TOKEN_KEY, token);
  html.dataset.signedIn = "true";
  $("signin").hidden = true;
  $("app").hidden = false;
  const scanner = scannerId();
  $("scanner-id").dataset.scanner = scanner;
  $("scanner-id").textContent = scanner;
  $("wedge").focus();
  feed = new Feed({
    token,
    path: "/scan/ws",
    hello: () => ({ type: "hello", token, scanner, gs1_separator: localStorage.getItem(SEPARATOR_KEY) || "GS" }),
    onMessage,
    onState,
    stopCodes: [4409],
  });
  feed.start();
}

// -- input ----------------------------------------------------------------------------------

const wedge = new Wedge({
  onScan(code) {
    if (!$("signin").hidden) {
      const token = tokenFromText(code);
      if (token) signIn(token);
      return;
    }
    scan(code, "wedge");
  },
});

function keepFocus() {
  // the wedge's capture holds the focus unless the worker chose a field or a button
  setTimeout(() => {
    const active = document.activeElement;
    if (!active || active === document.body) $("wedge").focus({ preventScroll: true });
  }, 0);
}

let camera = null;

function cameraState(state, detail) {
  const panel = $("camera-panel");
  panel.dataset.state = state;
  panel.hidden = state === "off";
  if (state === "on") panel.dataset.decoder = detail === "zxing" ? "zxing" : "barcode-detector";
  $("camera-note").textContent = state === "error" ? `camera: ${detail}` : state === "on" ? "hold the code in view" : "";
  $("camera-toggle").textContent = state === "on" || state === "starting" ? "Stop camera" : "Camera";
}

async function toggleCamera() {
  camera = camera || new Camera({ video: $("camera-video"), onCode: (code) => scan(code, "camera"), onState: cameraState });
  if (camera.on) camera.stop();
  else await camera.start();
}

async function offlineReady() {
  if (!("serviceWorker" in navigator)) return;
  try {
    await navigator.serviceWorker.register("/scan/sw.js", { scope: "/scan/" });
    await navigator.serviceWorker.ready;
    html.dataset.offlineReady = "true";
  } catch (err) {
    console.warn("service worker:", err);
  }
}

async function main() {
  window.addEventListener("keydown", (e) => wedge.keydown(e), true);
  document.addEventListener("focusout", keepFocus);
  document.addEventListener("click", keepFocus);
  $("signin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const token = tokenFromText($("signin-token").value) || $("signin-token").value.trim();
    if (token) signIn(token);
  });
  $("manual").addEventListener("submit", (e) => {
    e.preventDefault();
    const code = $("manual-code").value.trim();
    $("manual-code").value = "";
    scan(code, "typed");
  });
  for (const button of document.querySelectorAll("button.cmd")) {
    button.addEventListener("click", () => scan(button.dataset.code, "button"));
  }
  $("exceptions").addEventListener("click", async (e) => {
    const seq = e.target.dataset && e.target.dataset.resolve;
    if (!seq) return;
    await outbox.resolve(Number(seq));
    await showExceptions();
  });
  $("camera-toggle").addEventListener("click", toggleCamera);
  const separator = $("separator");
  separator.value = localStorage.getItem(SEPARATOR_KEY) || "GS";
  separator.addEventListener("change", () => {
    localStorage.setItem(SEPARATOR_KEY, separator.value);
    if (feed) feed.setToken(feed.token); // hello again with the new separator
  });
  $("signout").addEventListener("click", () => {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(LAST_KEY);
    signedOut("");
  });

  outbox = await Outbox.open();
  for (const entry of await outbox.pending()) pending.set(entry.seq, { ...entry, offline: true });
  for (const entry of pending.values()) showRecent(entry.seq, entry.code, "pending", "kept on this device");
  showQueue();
  await showExceptions();
  offlineReady();

  // leaving the page (another page, a closed tab, the back-forward cache): close the
  // socket so the server shows this handheld offline at once; back from the cache: reopen
  window.addEventListener("pagehide", () => {
    if (feed) feed.stop();
  });
  window.addEventListener("pageshow", (e) => {
    if (e.persisted && feed) feed.start();
  });
  window.addEventListener("hashchange", () => {
    const token = tokenFromFragment(); // a sign-in link opened on the open page
    if (token) {
      if (feed) feed.stop();
      signIn(token);
    }
  });
  tokenFromFragment();
  const token = localStorage.getItem(TOKEN_KEY);
  if (token) {
    try {
      const last = JSON.parse(localStorage.getItem(LAST_KEY) || "{}");
      showWorker(last.worker); // as last heard: the server may be out of reach
      showSession(last.session);
    } catch {
      // nothing remembered
    }
    signIn(token);
  } else signedOut("");
}

main();
