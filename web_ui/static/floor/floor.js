// stockd floor display.

import { Api } from "/static/api.js";
import { Feed } from "/static/feed.js";
//
// Connects to the live feed at /feed (protocol: web_ui/feed.py), keeps a model of
// stock, alerts, scanners and recent scans, and renders what changed at most once
// per frame, so a burst of a thousand events a second costs one JSON.parse and a few
// map updates each, plus one small DOM pass per frame.
//
// The connection is the shared feed client, /static/feed.js: it reconnects by itself
// with capped exponential backoff, sending `since` = the last seq seen, so the server
// replays what was missed (or sends a fresh snapshot). A snapshot, whenever it comes,
// replaces the whole model. Close code 4401 (token unknown, revoked or expired; the
// reason says which) stops reconnecting: retrying the same token cannot help. API reads
// go through the shared client, /static/api.js.
//
// The token lives in the URL fragment, `/#token=…`, which browsers never send to the
// server (no access logs, no Referer), and is remembered on this screen. An old
// bookmark with `?token=…` still works: the token moves into the fragment and the
// query is taken off the URL (history.replaceState). Changing the fragment on a
// running page switches to the new token.
//
// Backorders waiting come from GET /api/v1/backorders (with the same token) after each
// snapshot, then live from backorder.created, backorder.eta_changed (its date),
// backorder.filled and order.cancelled /
// order.completed. A stock.changed of kind reserve or unreserve (an order reserving or
// releasing stock: delta 0, no movement) changes what is available but is not a scan,
// so it never shows under "recent scans".
//
// Testing hooks: #conn[data-state] (connecting|live|reconnecting|auth-failed|
// no-token), #seq, html[data-snapshots], .tile[data-sku][data-zone],
// .alert[data-alert-id][data-sku][data-kind](.flashing), #recent li[data-sku],
// #rejected li, .chip[data-scanner][data-state][data-operator] (the worker signed in:
// USR:<code>; empty when none), #backorders-panel[data-count]
// (lines waiting), #backorders li[data-order][data-sku][data-quantity],
// #spool[data-depth][data-full] (scans spooled by the gateways, from /healthz),
// html[data-warehouse] (the warehouse shown; absent: every warehouse).
//
// One warehouse: `/?warehouse=EAST#token=…` shows EAST's stock only. The hello names the
// warehouse, so snapshots carry its figures and, per product, each of its locations'
// on hand and available; a stock.changed of another warehouse is left out (every
// stock.changed names its warehouse), one of EAST sets its location's figures and the
// tile shows their sums. Rejections of scanners configured for another warehouse are
// left out too. Alerts and backorders stay the product's (they are not per warehouse).
// A code no warehouse has closes the feed with 4404: the page says so and stops.
//
// The spool: every SPOOL_POLL_MS the page reads /healthz (open, no token; a gateway in
// the same process answers even with the database away) and shows, under the
// connection state, how many scans wait in the gateways' spools and whether one is full.

const SCOPE = new URLSearchParams(location.search).get("warehouse") || null;
const RECENT_MAX = 15;
const SPOOL_POLL_MS = 5000;
const REJECTED_MAX = 6;
const BACKORDERS_SHOWN = 6;
const BACKORDERS_FETCHED = 5000; // more than a floor shows; the count stays exact below it
const ALERTS_SHOWN = 10; // as many as one row of the banner can hold
const STALE_AFTER_MS = 5_000;
const BUMP_MS = 1_500;
const PAGE_FLIP_MS = 12_000;
const DENSE_AFTER = 24; // more tiles than fit a screen: ok tiles shrink, problems stay big
const NO_ZONE = "—";
const TOKEN_KEY = "stockd.floor.token";
const SEVERITY = { out: 0, low: 1, ok: 2 };
const ALERT_ORDER = { out_of_stock: 0, expired: 1, low_stock: 2, projected_stockout: 3 };
const ALERT_WORD = {
  out_of_stock: "OUT",
  expired: "EXPIRED",
  low_stock: "LOW",
  projected_stockout: "RUNNING OUT",
};

const $ = (id) => document.getElementById(id);
const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
});

function node(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function int(value) {
  const n = Number(value);
  return value === null || value === undefined || !Number.isFinite(n) ? null : n;
}

function clock(ts) {
  const d = ts ? new Date(ts) : new Date();
  return Number.isNaN(d.getTime()) ? "" : timeFormat.format(d);
}

function signed(n) {
  if (n === null) return "";
  return n > 0 ? `+${n}` : n < 0 ? `\u2212${-n}` : "0";
}

// ---- the model ---------------------------------------------------------------------

const model = {
  seq: null, // last seq applied; sent as `since` on reconnect
  products: new Map(), // sku -> {sku, name, reorder_point, on_hand, available, zones:Set}
  alerts: new Map(), // alert_id -> {alert_id, kind, sku, name, available, threshold, acknowledged}
  scanners: new Map(), // scanner -> {scanner, state, detail, last_code}
  recent: [], // newest first
  rejected: [], // newest first
  locationZone: new Map(), // location -> zone, learnt from events that carry `zone`
  backorders: new Map(), // `${order} ${sku}` -> {order, sku, quantity, expected_date}
  snapshots: 0,
};

const dirty = {
  all: true,
  skus: new Set(),
  alerts: true,
  scanners: true,
  recent: true,
  rejected: true,
  rejectedFresh: false,
  backorders: true,
};

function product(sku) {
  let p = model.products.get(sku);
  if (!p) {
    p = { sku, name: "", reorder_point: 0, on_hand: 0, available: 0, zones: new Set(), locs: new Map() };
    model.products.set(sku, p);
  }
  return p;
}

function locationFigures(list) {
  // location -> {zone, on_hand, available}: what a warehouse's page sums for its tiles
  const locs = new Map();
  for (const l of list || []) {
    locs.set(l.location, { zone: l.zone || "", on_hand: int(l.on_hand) ?? 0, available: int(l.available) ?? 0 });
  }
  return locs;
}

function sumLocations(p) {
  p.on_hand = 0;
  p.available = 0;
  p.zones = new Set();
  for (const l of p.locs.values()) {
    p.on_hand += l.on_hand;
    p.available += l.available;
    if (l.on_hand > 0 && l.zone) p.zones.add(l.zone);
  }
}

function pushCapped(list, item, cap) {
  list.unshift(item);
  if (list.length > cap) list.length = cap;
}

function applySnapshot(msg) {
  model.seq = int(msg.seq);
  model.products = new Map();
  for (const s of msg.stock || []) {
    model.products.set(s.sku, {
      sku: s.sku,
      name: s.name || "",
      reorder_point: int(s.reorder_point) ?? 0,
      on_hand: int(s.on_hand) ?? 0,
      available: int(s.available) ?? 0,
      zones: new Set(s.zones || []),
      locs: locationFigures(s.locations),
    });
  }
  model.alerts = new Map();
  for (const a of msg.alerts || []) model.alerts.set(a.alert_id, { ...a });
  model.scanners = new Map();
  for (const s of msg.scanners || []) model.scanners.set(s.scanner, { ...s });
  model.recent = [];
  model.rejected = [];
  for (const ev of msg.recent || []) if (!isReservation(ev)) addToLists(ev, false); // oldest first
  loadBackorders();
  model.snapshots += 1;
  document.documentElement.dataset.snapshots = String(model.snapshots);
  dirty.all = dirty.alerts = dirty.scanners = dirty.recent = dirty.rejected = true;
  dirty.skus.clear();
}

function addToLists(ev, live) {
  if (ev.type === "scan.rejected") {
    pushCapped(model.rejected, ev, REJECTED_MAX);
    dirty.rejected = true;
    if (live) dirty.rejectedFresh = true;
  } else {
    pushCapped(model.recent, ev, RECENT_MAX);
    dirty.recent = true;
  }
}

function isReservation(ev) {
  // stock reserved for an order or released: availability changes, nothing was scanned
  return ev.type === "stock.changed" && (ev.kind === "reserve" || ev.kind === "unreserve");
}

// ---- backorders waiting --------------------------------------------------------------

let backorderLoads = 0; // the newest load wins
let backorderPending = null; // events heard while a load is under way, replayed on it

function backorderKey(order, sku) {
  return `${order} ${sku}`;
}

function applyBackorderEvent(ev) {
  // every change is "set to": replaying one (after a load that already had it) is harmless
  if (backorderPending !== null) backorderPending.push(ev);
  const key = backorderKey(ev.order, ev.sku);
  if (ev.type === "backorder.created") {
    const before = model.backorders.get(key);
    model.backorders.set(key, {
      order: ev.order,
      sku: ev.sku,
      quantity: int(ev.quantity) ?? 0,
      expected_date: ev.expected_date ?? (before ? before.expected_date : null),
    });
  } else if (ev.type === "backorder.eta_changed") {
    const b = model.backorders.get(key);
    if (!b) return;
    b.expected_date = ev.expected_date ?? null;
  } else if (ev.type === "backorder.filled") {
    const left = int(ev.remaining) ?? 0;
    const b = model.backorders.get(key);
    if (left <= 0) model.backorders.delete(key);
    else if (b) b.quantity = left;
    else model.backorders.set(key, { order: ev.order, sku: ev.sku, quantity: left, expected_date: null });
  } else if (ev.type === "order.cancelled" || ev.type === "order.completed") {
    for (const [k, b] of model.backorders) if (b.order === ev.order) model.backorders.delete(k);
  } else {
    return; // order.created, order.picked: backorder.* says what changed for the panel
  }
  dirty.backorders = true;
}

async function loadBackorders() {
  const load = ++backorderLoads;
  backorderPending = [];
  const found = new Map();
  try {
    for await (const b of new Api(token).items("/backorders", { limit: 1000 })) {
      found.set(backorderKey(b.order, b.sku), {
        order: b.order,
        sku: b.sku,
        quantity: int(b.quantity) ?? 0,
        expected_date: b.expected_date || null,
      });
      if (found.size >= BACKORDERS_FETCHED) break;
    }
  } catch (error) {
    console.warn("backorders:", error.message); // the live events still keep the panel
    if (load === backorderLoads) backorderPending = null;
    return;
  }
  if (load !== backorderLoads) return; // a newer snapshot asked again
  const heard = backorderPending;
  backorderPending = null;
  model.backorders = found;
  for (const ev of heard) applyBackorderEvent(ev);
  dirty.backorders = true;
  schedule();
}

function applyStockChanged(ev) {
  if (SCOPE && ev.warehouse !== SCOPE) return; // another warehouse's
  const p = product(ev.sku);
  const delta = int(ev.delta) ?? 0;
  if (ev.zone) model.locationZone.set(ev.location, ev.zone);
  const zone = ev.zone || model.locationZone.get(ev.location);
  if (SCOPE) {
    const here = p.locs.get(ev.location) || { zone: zone || "", on_hand: 0, available: 0 };
    here.on_hand = int(ev.on_hand) ?? here.on_hand + delta;
    here.available = int(ev.available) ?? here.available + delta;
    p.locs.set(ev.location, here);
    sumLocations(p);
  } else {
    p.on_hand = int(ev.product_on_hand) ?? p.on_hand + delta;
    p.available = int(ev.product_available) ?? p.available + delta;
    if (p.on_hand <= 0) p.zones.clear();
    else if (zone && (int(ev.on_hand) ?? 1) > 0) p.zones.add(zone);
  }
  p.bumped = true;
  dirty.skus.add(p.sku);
  if (!dirty.alerts) {
    for (const a of model.alerts.values()) {
      if (a.sku === p.sku) {
        dirty.alerts = true; // its alert shows the live figure
        break;
      }
    }
  }
  if (isReservation(ev)) return; // not a scan: not among the recent scans
  const scanner = ev.scanner && model.scanners.get(ev.scanner);
  if (scanner) scanner.last_code = ev.sku;
  addToLists(ev, true);
}

function applyEvent(ev) {
  switch (ev.type) {
    case "stock.changed":
      applyStockChanged(ev);
      break;
    case "scan.rejected":
      if (SCOPE && ev.warehouse && ev.warehouse !== SCOPE) break; // another warehouse's scanner
      addToLists(ev, true);
      break;
    case "alert.raised":
      model.alerts.set(ev.alert_id, {
        alert_id: ev.alert_id,
        kind: ev.kind,
        sku: ev.sku,
        name: model.products.get(ev.sku)?.name || "",
        available: ev.available,
        threshold: ev.threshold,
        expired: ev.expired, // expired alerts: units past their date
        raised_at: ev.ts,
        acknowledged: false,
      });
      dirty.alerts = true;
      break;
    case "alert.cleared":
      model.alerts.delete(ev.alert_id);
      dirty.alerts = true;
      break;
    case "alert.acknowledged": {
      const a = model.alerts.get(ev.alert_id);
      if (a) a.acknowledged = true;
      dirty.alerts = true;
      break;
    }
    case "scanner.status": {
      const s = model.scanners.get(ev.scanner) || { scanner: ev.scanner };
      s.state = ev.state;
      s.detail = ev.detail;
      if ("operator" in ev) s.operator = ev.operator;
      model.scanners.set(ev.scanner, s);
      dirty.scanners = true;
      break;
    }
    default:
      if (ev.type.startsWith("backorder.") || ev.type.startsWith("order.")) {
        applyBackorderEvent(ev);
      } else if (ev.type.startsWith("transfer.")) {
        // its stock.changed events (transfer_out, transfer_in) are the scans shown
      } else {
        addToLists(ev, true); // anything newer: shown generically
      }
  }
}

// ---- rendering: only what changed, at most once per frame ----------------------------

const zones = new Map(); // zone -> {section, grid, counts, skus:[], n:{ok,low,out}}
const tiles = new Map(); // sku -> Map(zone -> tile)
const bumped = new Map(); // tile -> time its highlight ends
let tileCount = 0;

function stateOf(p) {
  if (p.available <= 0) return "out";
  if (p.reorder_point > 0 && p.available <= p.reorder_point) return "low";
  return "ok";
}

function zoneSection(name) {
  let z = zones.get(name);
  if (z) return z;
  const section = node("section", "zone");
  section.dataset.zone = name;
  const title = node("h2");
  title.append(node("span", "", name === NO_ZONE ? "— no stock" : `Zone ${name}`));
  const counts = node("span", "counts");
  title.append(counts);
  const grid = node("div", "tiles");
  section.append(title, grid);
  z = { name, section, grid, counts, skus: [], n: { ok: 0, low: 0, out: 0 }, countsDirty: true };
  zones.set(name, z);
  const stock = $("stock");
  let before = null;
  if (name !== NO_ZONE) {
    for (const other of stock.children) {
      const o = other.dataset.zone;
      if (o === NO_ZONE || o.localeCompare(name, undefined, { numeric: true }) > 0) {
        before = other;
        break;
      }
    }
  }
  stock.insertBefore(section, before);
  return z;
}

function createTile(p, zoneName) {
  const z = zoneSection(zoneName);
  const el = node("article", "tile");
  el.dataset.sku = p.sku;
  el.dataset.zone = zoneName;
  const head = node("div", "head");
  const sku = node("span", "sku", p.sku);
  const word = node("span", "word");
  head.append(sku, word);
  const name = node("div", "name");
  const figs = node("div", "figs");
  const avail = node("span", "avail");
  const rp = node("span", "rp");
  figs.append(avail, rp);
  const bar = node("div", "bar");
  const fill = node("div", "fill");
  bar.append(fill, node("div", "mark"));
  el.append(head, name, figs, bar);
  // keep tiles in SKU order within the zone; CSS `order` floats out and low to the top
  let i = 0;
  let hi = z.skus.length;
  while (i < hi) {
    const mid = (i + hi) >> 1;
    if (z.skus[mid] < p.sku) i = mid + 1;
    else hi = mid;
  }
  const next = i < z.skus.length ? tiles.get(z.skus[i])?.get(zoneName)?.el : null;
  z.skus.splice(i, 0, p.sku);
  z.grid.insertBefore(el, next || null);
  tileCount += 1;
  return { el, zone: z, word, name, avail, rp, fill, shown: {} };
}

function removeTile(t, sku) {
  const z = t.zone;
  if (t.shown.state) z.n[t.shown.state] -= 1;
  z.countsDirty = true;
  const i = z.skus.indexOf(sku);
  if (i >= 0) z.skus.splice(i, 1);
  t.el.remove();
  bumped.delete(t);
  tileCount -= 1;
  if (!z.skus.length) {
    z.section.remove();
    zones.delete(z.name);
  }
}

function updateTile(t, p, now) {
  const s = t.shown;
  const state = stateOf(p);
  if (s.state !== state) {
    if (s.state) {
      t.zone.n[s.state] -= 1;
      t.el.classList.remove(s.state);
    }
    t.zone.n[state] += 1;
    t.zone.countsDirty = true;
    t.el.classList.add(state);
    t.el.style.order = String(SEVERITY[state]);
    t.word.textContent = state;
    s.state = state;
  }
  if (s.available !== p.available) {
    t.avail.textContent = String(p.available);
    s.available = p.available;
  }
  if (s.name !== p.name) {
    t.name.textContent = p.name;
    s.name = p.name;
  }
  if (s.rp !== p.reorder_point) {
    if (p.reorder_point > 0) {
      t.rp.replaceChildren(node("small", "", "reorder at"), node("b", "", String(p.reorder_point)));
    } else {
      t.rp.replaceChildren(node("small", "", "no reorder"), node("small", "", "point"));
    }
    t.el.classList.toggle("no-rp", !(p.reorder_point > 0));
    s.rp = p.reorder_point;
  }
  // the bar's full width is twice the reorder point, so the mark sits in the middle
  const full = p.reorder_point > 0 ? 2 * p.reorder_point : Math.max(p.available, 1);
  const pct = Math.round(Math.max(0, Math.min(1, p.available / full)) * 100);
  if (s.pct !== pct) {
    t.fill.style.width = `${pct}%`;
    s.pct = pct;
  }
  if (p.bumped) {
    t.el.classList.add("bump");
    bumped.set(t, now + BUMP_MS);
  }
}

function renderProduct(p, now) {
  const want = p.zones.size ? [...p.zones] : [NO_ZONE];
  let byZone = tiles.get(p.sku);
  if (!byZone) {
    byZone = new Map();
    tiles.set(p.sku, byZone);
  }
  for (const [zone, t] of byZone) {
    if (!want.includes(zone)) {
      removeTile(t, p.sku);
      byZone.delete(zone);
    }
  }
  for (const zone of want) {
    let t = byZone.get(zone);
    if (!t) {
      t = createTile(p, zone);
      byZone.set(zone, t);
    }
    updateTile(t, p, now);
  }
  p.bumped = false;
}

function renderStock(now) {
  if (dirty.all) {
    $("stock").replaceChildren();
    zones.clear();
    tiles.clear();
    bumped.clear();
    tileCount = 0;
    const skus = [...model.products.keys()].sort();
    for (const sku of skus) {
      const p = model.products.get(sku);
      p.bumped = false;
      renderProduct(p, now);
    }
  } else {
    for (const sku of dirty.skus) {
      const p = model.products.get(sku);
      if (p) renderProduct(p, now);
    }
  }
  dirty.skus.clear();
  $("stock").classList.toggle("dense", tileCount > DENSE_AFTER);
  for (const z of zones.values()) {
    if (!z.countsDirty) continue;
    z.countsDirty = false;
    const parts = [];
    if (z.n.out) parts.push(`<span class="n-out">${z.n.out} out</span>`);
    if (z.n.low) parts.push(`<span class="n-low">${z.n.low} low</span>`);
    parts.push(`${z.n.ok} ok`);
    z.counts.innerHTML = parts.join(" · ");
  }
}

const alertEls = new Map(); // alert_id -> {el, key}

function renderAlerts() {
  const list = $("alert-list");
  const all = [...model.alerts.values()].sort(
    (a, b) =>
      Number(Boolean(a.acknowledged)) - Number(Boolean(b.acknowledged)) ||
      (ALERT_ORDER[a.kind] ?? 9) - (ALERT_ORDER[b.kind] ?? 9) ||
      b.alert_id - a.alert_id,
  );
  const shown = all.slice(0, ALERTS_SHOWN);
  const keep = new Set(shown.map((a) => a.alert_id));
  for (const [id, entry] of alertEls) {
    if (!keep.has(id)) {
      entry.el.remove();
      alertEls.delete(id);
    }
  }
  shown.forEach((a, i) => {
    let entry = alertEls.get(a.alert_id);
    if (!entry) {
      const el = node("li");
      el.dataset.alertId = String(a.alert_id);
      // every flashing alert flashes in step, however late it was added
      el.style.animationDelay = `-${Math.round(performance.now() % 1000)}ms`;
      entry = { el, key: "" };
      alertEls.set(a.alert_id, entry);
    }
    const p = model.products.get(a.sku);
    const name = a.name || p?.name || "";
    const available = p ? p.available : a.available;
    const key = [a.kind, a.sku, name, available, a.threshold, a.expired, a.acknowledged].join("|");
    if (entry.key !== key) {
      entry.key = key;
      const el = entry.el;
      el.className = `alert kind-${a.kind}${a.acknowledged ? " acknowledged" : " flashing"}`;
      el.dataset.sku = a.sku;
      el.dataset.kind = a.kind;
      const fig = node("span", "fig", `${available ?? "?"} left`);
      if (a.kind === "expired" && a.expired !== undefined && a.expired !== null) {
        fig.append(node("small", "", ` · ${a.expired} expired`));
      }
      if (a.kind === "low_stock" && a.threshold !== undefined && a.threshold !== null) {
        fig.append(node("small", "", ` · reorder at ${a.threshold}`));
      }
      el.replaceChildren(
        node("span", "kind", ALERT_WORD[a.kind] || a.kind),
        node("span", "sku", a.sku),
        node("span", "name", name),
        fig,
      );
    }
    if (list.children[i] !== entry.el) list.insertBefore(entry.el, list.children[i] || null);
  });
  const count = $("alert-count");
  const kinds = {};
  for (const a of all) kinds[a.kind] = (kinds[a.kind] || 0) + 1;
  const detail = Object.keys(ALERT_WORD)
    .filter((k) => kinds[k])
    .map((k) => `${kinds[k]} ${ALERT_WORD[k].toLowerCase()}`)
    .join(" · ");
  count.replaceChildren(`${all.length} alert${all.length === 1 ? "" : "s"}`, node("small", "", detail));
  $("alerts-quiet").textContent = model.seq === null ? "" : "No active stock alerts";
  const section = $("alerts");
  section.classList.toggle("has-alerts", all.length > 0);
  section.classList.toggle("flashing", all.some((a) => !a.acknowledged));
}

const scannerEls = new Map();

function renderScanners() {
  const list = $("scanners");
  const ids = [...model.scanners.keys()].sort((a, b) =>
    a.localeCompare(b, undefined, { numeric: true }),
  );
  for (const [id, el] of scannerEls) {
    if (!model.scanners.has(id)) {
      el.remove();
      scannerEls.delete(id);
    }
  }
  ids.forEach((id, i) => {
    const s = model.scanners.get(id);
    let el = scannerEls.get(id);
    if (!el) {
      el = node("li", "chip");
      el.dataset.scanner = id;
      scannerEls.set(id, el);
    }
    const state = s.state || "unknown";
    const operator = s.operator || "";
    if (
      el.dataset.state !== state ||
      el.title !== (s.detail || "") ||
      el.dataset.operator !== operator
    ) {
      el.dataset.state = state;
      el.dataset.operator = operator;
      el.title = s.detail || "";
      const parts = [document.createTextNode(id), node("small", "", state)];
      if (operator) parts.push(node("small", "operator", operator));
      el.replaceChildren(...parts);
    }
    if (list.children[i] !== el) list.insertBefore(el, list.children[i] || null);
  });
}

// The list #id as a fixed pool of size rows (li of spans with these classes, made once):
// row i shows items[i], filled by fill(li, item, spans), or is hidden; #id-empty shows
// when there is no item.
function fillRows(id, items, size, classes, fill) {
  const list = $(id);
  while (list.children.length < size) {
    const li = node("li");
    li.append(...classes.map((c) => node("span", c)));
    list.append(li);
  }
  for (let i = 0; i < size; i++) {
    const li = list.children[i];
    li.hidden = !items[i];
    if (items[i]) fill(li, items[i], [...li.children]);
  }
  $(`${id}-empty`).hidden = items.length > 0;
}

function renderRecent() {
  fillRows("recent", model.recent, RECENT_MAX, ["time", "what", "delta"], (li, ev, [time, what, delta]) => {
    li.dataset.seq = String(ev.seq ?? "");
    li.dataset.sku = ev.sku || "";
    time.textContent = clock(ev.ts);
    if (ev.type === "stock.changed") {
      const d = int(ev.delta);
      li.className = "";
      const kind = ev.kind === "receive" || ev.kind === "pick" ? "" : ev.kind; // the sign says it
      const where = [ev.location, ev.scanner || ev.actor, kind].filter(Boolean).join(" · ");
      what.replaceChildren(node("span", "sku", ev.sku), " ", node("span", "where", where));
      delta.textContent = signed(d);
      delta.className = `delta ${d > 0 ? "plus" : d < 0 ? "minus" : ""}`;
    } else {
      li.className = "other";
      const about = [ev.sku, ev.order, ev.number].filter(Boolean).join(" ");
      what.replaceChildren(node("span", "sku", ev.type), " ", node("span", "where", about));
      delta.textContent = ev.quantity !== undefined ? String(ev.quantity) : "";
      delta.className = "delta";
    }
  });
}

function renderRejected() {
  fillRows("rejected", model.rejected, REJECTED_MAX, ["who", "code", "reason"], (li, ev, [who, code, reason]) => {
    li.dataset.seq = String(ev.seq ?? "");
    li.dataset.scanner = ev.scanner || "";
    who.replaceChildren(ev.scanner || "?", " ", node("span", "time", clock(ev.ts)));
    code.textContent = ev.code ?? "";
    reason.textContent = ev.reason ?? "";
  });
  if (dirty.rejectedFresh) {
    const panel = $("rejected-panel");
    panel.classList.remove("fresh");
    void panel.offsetWidth; // restart the highlight (at most once per frame)
    panel.classList.add("fresh");
    dirty.rejectedFresh = false;
  }
}

function renderBackorders() {
  const waiting = [...model.backorders.values()];
  fillRows("backorders", waiting, BACKORDERS_SHOWN, ["sku", "qty", "order", "when"], (li, b, [sku, qty, order, when]) => {
    li.dataset.order = b.order;
    li.dataset.sku = b.sku;
    li.dataset.quantity = String(b.quantity);
    sku.textContent = `${b.sku} ${model.products.get(b.sku)?.name || ""}`.trim();
    qty.textContent = `×${b.quantity}`;
    order.textContent = `order ${b.order}`;
    when.textContent = b.expected_date ? `expected ${b.expected_date}` : "";
  });
  const panel = $("backorders-panel");
  panel.dataset.count = String(waiting.length);
  $("backorder-count").textContent = waiting.length ? `(${waiting.length})` : "";
}

function render() {
  const now = performance.now();
  if (dirty.all || dirty.skus.size) renderStock(now);
  if (dirty.all || dirty.alerts) renderAlerts();
  if (dirty.all || dirty.scanners) renderScanners();
  if (dirty.all || dirty.recent) renderRecent();
  if (dirty.all || dirty.rejected) renderRejected();
  if (dirty.all || dirty.backorders) renderBackorders();
  dirty.all = dirty.alerts = dirty.scanners = dirty.recent = dirty.rejected = false;
  dirty.backorders = false;
  $("seq").textContent = model.seq === null ? "–" : String(model.seq);
}

let scheduled = false;

function flush() {
  if (!scheduled) return;
  scheduled = false;
  render();
}

function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(flush);
  setTimeout(flush, 250); // rAF pauses in hidden tabs; the board must still catch up
}

// ---- connection --------------------------------------------------------------------

let feed = null;
let token = null;
let connState = "connecting";
let notLiveSince = performance.now();

function setConn(state, text) {
  const el = $("conn");
  if (state !== connState) {
    connState = state;
    notLiveSince = state === "live" ? null : performance.now();
  }
  el.dataset.state = state;
  el.textContent = text;
  if (state === "live") document.body.classList.remove("stale");
}

function showNotice(html) {
  const el = $("notice");
  el.hidden = html === null;
  if (html !== null) el.innerHTML = html;
}

function fragmentParams() {
  return new URLSearchParams(location.hash.replace(/^#/, ""));
}

function readToken() {
  const url = new URL(location.href);
  const fromQuery = url.searchParams.get("token");
  if (fromQuery) {
    // an old ?token= bookmark: into the fragment, off the query (and out of history)
    url.searchParams.delete("token");
    const fragment = fragmentParams();
    if (!fragment.get("token")) fragment.set("token", fromQuery);
    history.replaceState(null, "", `${url.pathname}${url.search}#${fragment}`);
  }
  const token = fragmentParams().get("token");
  if (token) {
    try {
      localStorage.setItem(TOKEN_KEY, token);
    } catch {
      // no storage: the fragment keeps it across reloads
    }
    return token;
  }
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function escapeHtml(text) {
  const e = document.createElement("span");
  e.textContent = text;
  return e.innerHTML;
}

function feedState(state, detail) {
  if (state === "live") {
    setConn("live", "live");
    showNotice(null);
  } else if (state === "reconnecting") {
    setConn("reconnecting", `reconnecting · ${detail}`);
  } else if (state === "auth-failed" && detail.code === 4404) {
    setConn("auth-failed", "unknown warehouse");
    showNotice(
      `<b>No warehouse ${escapeHtml(SCOPE || "")}.</b> Open this page as ` +
        "<code>/?warehouse=&lt;code&gt;#token=…</code> with a code GET /api/v1/warehouses lists, " +
        "or without <code>?warehouse=</code> for every warehouse.",
    );
  } else if (state === "auth-failed") {
    setConn("auth-failed", "token rejected");
    const why =
      detail.code === 4401 ? detail.reason || "unknown or revoked token" : "not allowed to read the feed";
    showNotice(
      `<b>The display token was rejected</b> (${escapeHtml(why)}).<br>` +
        "Open this page as <code>/#token=&lt;display token&gt;</code> " +
        "(create one with <code>stockd token create --role display --name floor</code>).",
    );
  } else if (state === "connecting") {
    setConn("connecting", "connecting…");
  }
}

function feedSnapshot(msg) {
  applySnapshot(msg);
  schedule();
}

function feedEvent(ev) {
  const seq = int(ev.seq);
  if (seq !== null) model.seq = seq;
  applyEvent(ev);
  schedule();
}

function tick() {
  const now = performance.now();
  $("clock").textContent = clock();
  if (notLiveSince !== null && now - notLiveSince > STALE_AFTER_MS && model.seq !== null) {
    document.body.classList.add("stale"); // the figures may be out of date
  }
  for (const [t, until] of bumped) {
    if (until <= now) {
      t.el.classList.remove("bump");
      bumped.delete(t);
    }
  }
}

function pageFlip() {
  // more tiles than fit: show the next screenful now and then (a kiosk has no mouse)
  const stock = $("stock");
  if (stock.scrollHeight <= stock.clientHeight + 8) {
    if (stock.scrollTop) stock.scrollTop = 0;
    return;
  }
  const end = stock.scrollTop + stock.clientHeight >= stock.scrollHeight - 8;
  stock.scrollTo({ top: end ? 0 : stock.scrollTop + stock.clientHeight * 0.85, behavior: "smooth" });
}

function switchToken() {
  // a new #token= typed into a running page: no reload happens, so reconnect here
  const next = fragmentParams().get("token");
  if (!next || next === token) return;
  token = readToken();
  showNotice(null);
  if (feed === null) {
    connect();
  } else {
    feed.setToken(token);
  }
}

function connect() {
  const scoped = SCOPE ? () => ({ type: "hello", token: feed.token, since: feed.seq, warehouse: SCOPE }) : undefined;
  feed = new Feed({
    token,
    onSnapshot: feedSnapshot,
    onEvent: feedEvent,
    onState: feedState,
    hello: scoped,
    stopCodes: [4404],
  });
  feed.start();
}

async function pollSpool() {
  const el = $("spool");
  try {
    const answer = await fetch("/healthz", { cache: "no-store" });
    const health = await answer.json();
    const spools = Array.isArray(health.spools) ? health.spools : [];
    const depth = spools.reduce((n, s) => n + (int(s.depth) ?? 0), 0);
    const full = spools.some((s) => s.full === true);
    el.dataset.depth = String(depth);
    el.dataset.full = String(full);
    el.hidden = depth === 0 && !full;
    el.textContent = full
      ? `spool full: scans refused (${depth} waiting)`
      : `${depth} scan${depth === 1 ? "" : "s"} spooled, waiting for the database`;
  } catch {
    // the node itself is away: the connection state already says so
  }
}

function start() {
  if (SCOPE) {
    document.documentElement.dataset.warehouse = SCOPE;
    $("brand").querySelector("span").textContent = `floor · ${SCOPE}`;
    document.title = `stockd · floor · ${SCOPE}`;
  }
  window.addEventListener("hashchange", switchToken);
  setInterval(pollSpool, SPOOL_POLL_MS);
  pollSpool();
  token = readToken();
  setInterval(tick, 500);
  setInterval(pageFlip, PAGE_FLIP_MS);
  tick();
  render();
  if (!token) {
    setConn("no-token", "no token");
    showNotice(
      "<b>No display token.</b> Open this page once as <code>/#token=&lt;display token&gt;</code>; " +
        "it is remembered on this screen.<br>Create one with " +
        "<code>stockd token create --role display --name floor</code>.",
    );
    return;
  }
  connect();
}

window.stockdFloor = { model }; // for a look from the console
start();
