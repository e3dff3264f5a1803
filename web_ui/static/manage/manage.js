// stockd manager console, served at /manage/.
//
// One page over the public HTTP API (/static/api.js) and the live feed
// (/static/feed.js); nothing here talks to the server any other way. Each view is a
// module in ./views/ and a bookmarkable hash route:
//
//   #/stock?q=&location=&zone=     stock by product, per location and lot; CSV
//   #/alerts?state=active|all      alerts, acknowledge
//   #/exceptions?state=open|all    spool exceptions, resolve
//   #/scanners                     scanners: state, last scan, counters
//   #/orders                       customer orders and the backorder queue (FIFO)
//   #/purchase-orders              purchase orders, received so far
//   #/replenishment?needed=1       suggestions; a purchase order from selected rows
//   #/forecasts/<SKU>?weeks=26     chart: past demand, forecast and interval, stock-out
//   #/reports?from=&to=&days=&at=  turnover, deadstock, valuation by category; CSV
//   #/count-tasks?status=          count tasks: open one, confirm, approve; their lines
//
// Signing in: a manager token typed into the sign-in form, or given once in the URL as
// `#token=…` or `?token=…` (taken out of the URL at once and kept in this browser's
// localStorage until "Sign out"). A token the API refuses (401: unknown, revoked or
// expired; 403: not a manager's) shows the sign-in form with the reason, never a blank
// page; so does the feed closing with 4401/4403 later.
//
// Live: once the first view is on screen the console connects to the feed; its events go
// to the view on show (each decides: update a row in place,
// or reload its data after a short pause so a burst costs one request); the Alerts link
// counts the active, unacknowledged alerts from the feed's snapshot and events.
//
// Testing hooks (data-* attributes; tests never read CSS classes):
//   html[data-signed-in] (true|false), html[data-first-view-ms] (ms from navigation start
//   until the first view was ready)
//   #signin[data-state] (signed-out|checking|rejected), #signin-form input[name=token],
//   #signin-error[data-reason] (unauthorized|forbidden|network|feed)
//   #view[data-view][data-state] (loading|ready|error), #view [data-notice=error|ok]
//   nav a[data-nav][aria-current], #alert-count[data-count]
//   #feed[data-state] (connecting|live|reconnecting|auth-failed)[data-seq]
//   [data-action] buttons: sign-out, acknowledge, resolve, create-po, csv, more, search
//   each view's tables: table[data-table] with rows carrying the row's identity, listed
//   at the top of each module in ./views/.

import { Api, ApiError } from "/static/api.js";
import { Feed } from "/static/feed.js";
import { h, notice } from "/static/manage/ui.js";
// each view's module, loaded when it is first shown (the first view pays for itself only)
const VIEWS = new Map(
  [
    "stock",
    "alerts",
    "exceptions",
    "scanners",
    "orders",
    "purchase-orders",
    "replenishment",
    "forecasts",
    "reports",
    "count-tasks",
  ].map((id) => [id, () => import(`/static/manage/views/${id}.js`).then((m) => m.view)]),
);
const HOME = "#/stock";
const TOKEN_KEY = "stockd.manage.token";

const $ = (id) => document.getElementById(id);

const app = {
  api: null,
  feed: null,
  token: null,
  current: null, // {view, handle, el}
  renders: 0,
  firstView: true,
  alerts: new Map(), // alert_id -> acknowledged, active ones only
};

// ---- the token ---------------------------------------------------------------------------

function takeTokenFromUrl() {
  const url = new URL(location.href);
  let token = url.searchParams.get("token");
  if (token) url.searchParams.delete("token");
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
  if (!location.hash.startsWith("#/") && fragment.get("token")) {
    token = fragment.get("token");
    url.hash = HOME;
  }
  if (token) history.replaceState(null, "", `${url.pathname}${url.search}${url.hash || HOME}`);
  return token;
}

function storedToken() {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function storeToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // no storage (a private window): signed in until the page closes
  }
}

// ---- signing in and out --------------------------------------------------------------------

const REASONS = {
  unauthorized: "The token was refused: it is unknown, revoked or expired.",
  forbidden: "This token may not use the manager console: sign in with a manager (or admin) token.",
  network: "The server cannot be reached; try again in a moment.",
};

function showSignIn(reason, detail) {
  document.documentElement.dataset.signedIn = "false";
  $("nav").hidden = true;
  $("session").hidden = true;
  const view = $("view");
  view.hidden = true;
  view.replaceChildren();
  view.dataset.view = "";
  view.dataset.state = "idle";
  const box = $("signin");
  box.hidden = false;
  box.dataset.state = reason ? "rejected" : "signed-out";
  const error = $("signin-error");
  error.hidden = !reason;
  error.dataset.reason = reason || "";
  error.textContent = reason ? [REASONS[reason], detail].filter(Boolean).join(" ") : "";
  $("signin-token").focus();
}

function reasonOf(error) {
  if (error instanceof ApiError) {
    if (error.unauthorized) return "unauthorized";
    if (error.forbidden) return "forbidden";
    if (error.status === 0) return "network";
  }
  return null;
}

async function signIn(token) {
  $("signin").dataset.state = "checking";
  const api = new Api(token);
  // is it a manager's token? Asked beside the first view's own requests, not before them
  const check = api.get("/products", { limit: 1 }).then(
    () => null,
    (error) => error,
  );
  app.token = token;
  app.api = api;
  document.documentElement.dataset.signedIn = "true";
  $("signin").hidden = true;
  $("nav").hidden = false;
  $("session").hidden = false;
  $("view").hidden = false;
  const shown = route();
  const refused = await check;
  if (refused) {
    if (app.api === api) signOut(reasonOf(refused) || "network", refused.detail || refused.message);
    return;
  }
  storeToken(token);
  // the first view first, then the feed: its snapshot (every product) would only compete
  // with the first view's requests for the server's attention
  await shown;
  if (app.api === api) startFeed();
}

function signOut(reason, detail) {
  app.renders += 1; // a view still loading is dropped when it arrives
  if (app.feed) app.feed.stop();
  app.feed = null;
  destroyCurrent();
  app.api = null;
  app.token = null;
  app.alerts.clear();
  storeToken(null);
  showSignIn(reason, detail);
}

// ---- the live feed -------------------------------------------------------------------------

function setFeedState(state, text) {
  const el = $("feed");
  el.dataset.state = state;
  el.textContent = text;
}

function countAlerts() {
  let waiting = 0;
  for (const acknowledged of app.alerts.values()) if (!acknowledged) waiting += 1;
  const el = $("alert-count");
  el.dataset.count = String(waiting);
  el.textContent = waiting ? String(waiting) : "";
}

function startFeed() {
  if (app.feed) app.feed.stop();
  app.feed = new Feed({
    token: app.token,
    onState(state, detail) {
      if (state === "live") setFeedState("live", "live");
      else if (state === "connecting") setFeedState("connecting", "connecting…");
      else if (state === "reconnecting") setFeedState("reconnecting", `reconnecting · ${detail}`);
      else if (state === "auth-failed") {
        setFeedState("auth-failed", "token rejected");
        signOut("unauthorized", detail?.reason ? `(${detail.reason})` : "");
        $("signin-error").dataset.reason = "feed";
      }
    },
    onSnapshot(msg) {
      app.alerts = new Map((msg.alerts || []).map((a) => [a.alert_id, !!a.acknowledged]));
      countAlerts();
      $("feed").dataset.seq = String(msg.seq ?? "");
      app.current?.handle?.onSnapshot?.(msg);
    },
    onEvent(ev) {
      $("feed").dataset.seq = String(ev.seq ?? "");
      if (ev.type === "alert.raised") app.alerts.set(ev.alert_id, false);
      else if (ev.type === "alert.cleared") app.alerts.delete(ev.alert_id);
      else if (ev.type === "alert.acknowledged" && app.alerts.has(ev.alert_id)) app.alerts.set(ev.alert_id, true);
      if (ev.type.startsWith("alert.")) countAlerts();
      app.current?.handle?.onEvent?.(ev);
    },
  });
  app.feed.start();
}

// ---- routing -------------------------------------------------------------------------------

function parseHash(hash) {
  const text = hash.replace(/^#\/?/, "");
  const [path, query = ""] = text.split("?", 2);
  const [id = "", ...args] = path.split("/").map((p) => decodeURIComponent(p));
  return { id: id || "stock", args: args.filter(Boolean), params: new URLSearchParams(query) };
}

function hashOf(id, args = [], params = {}) {
  const path = [id, ...args.map((a) => encodeURIComponent(a))].join("/");
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") query.set(k, v);
  const text = query.toString();
  return `#/${path}${text ? `?${text}` : ""}`;
}

function destroyCurrent() {
  const current = app.current;
  app.current = null;
  try {
    current?.handle?.destroy?.();
  } catch (error) {
    console.warn("view destroy:", error);
  }
}

async function route() {
  if (!app.api) return;
  if (!location.hash.startsWith("#/")) {
    history.replaceState(null, "", `${location.pathname}${location.search}${HOME}`);
  }
  const { id, args, params } = parseHash(location.hash);
  destroyCurrent();
  const render = ++app.renders;
  const main = $("view");
  const el = h("div", { class: "view-body" });
  main.replaceChildren(el);
  main.dataset.view = id;
  main.dataset.state = "loading";
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.nav === id) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const load = VIEWS.get(id);
  let view = null;
  if (load) {
    try {
      view = await load();
    } catch (error) {
      if (render !== app.renders) return;
      el.append(notice("error", `Could not load this view's script: ${error.message || error}`));
      main.dataset.state = "error";
      return;
    }
    if (render !== app.renders) return;
  }
  if (!view) {
    document.title = "stockd · not found";
    el.append(
      h("h1", null, "No such view"),
      notice("error", `There is no view “${id}”. Pick one above.`),
    );
    main.dataset.state = "error";
    return;
  }
  document.title = `stockd · ${view.title}`;
  const ctx = {
    api: app.api,
    el,
    args,
    params,
    go: (hash) => {
      if (location.hash === hash) route();
      else location.hash = hash;
    },
    hashOf,
    failed,
    live: () => render === app.renders,
  };
  app.current = { view, handle: null, el };
  try {
    const handle = await view.render(ctx);
    if (render !== app.renders) {
      handle?.destroy?.();
      return;
    }
    app.current.handle = handle || null;
    main.dataset.state = "ready";
    if (app.firstView) {
      app.firstView = false;
      document.documentElement.dataset.firstViewMs = String(Math.round(performance.now()));
    }
  } catch (error) {
    if (render !== app.renders) return;
    const reason = reasonOf(error);
    if (reason === "unauthorized" || reason === "forbidden") {
      signOut(reason, error.detail);
      return;
    }
    console.warn(`${id}:`, error);
    el.append(notice("error", `Could not load this view: ${error.message || error}`));
    main.dataset.state = "error";
  }
}

// a view's action failed: the sign-in page for a refused token, else the message
function failed(error, where) {
  const reason = reasonOf(error);
  if (reason === "unauthorized" || reason === "forbidden") {
    signOut(reason, error.detail);
    return true;
  }
  where?.replaceChildren(notice("error", error.message || String(error)));
  return false;
}

function start() {
  $("signin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const token = $("signin-token").value.trim();
    if (token) signIn(token);
  });
  $("sign-out").addEventListener("click", () => signOut(null));
  window.addEventListener("hashchange", () => {
    const fromUrl = takeTokenFromUrl();
    if (fromUrl && fromUrl !== app.token) signIn(fromUrl);
    else route();
  });
  const token = takeTokenFromUrl() || storedToken();
  if (token) signIn(token);
  else showSignIn(null);
}

window.stockdManage = { app, parseHash, hashOf }; // for a look from the browser's console
start();
