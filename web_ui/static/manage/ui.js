// Small DOM helpers for the manager console's views: elements, tables, figures, CSV.
//
// Everything is built with createElement and textContent (no innerHTML with data), so
// a product name or a scanner's code can never become markup.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") for (const [k, v] of Object.entries(value)) el.dataset[k] = String(v);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

// A list view's filter links (p.filters): one a[data-filter] per choice, the current one
// aria-current. choices: [filter, label, params] each, params for ctx.hashOf(id, [], params).
function filterLinks(ctx, id, current, choices) {
  return h(
    "p",
    { class: "filters" },
    choices.map(([filter, label, params], i) => [
      i ? " · " : "",
      h("a", { href: ctx.hashOf(id, [], params), dataset: { filter }, "aria-current": filter === current ? "true" : null }, label),
    ]),
  );
}

// On a click, button runs work(), disabled until it ends (a second click cannot start it
// twice); a failure is shown with ctx.failed(error, where).
export function onClick(ctx, button, where, work) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await work();
    } catch (error) {
      ctx.failed(error, where);
    } finally {
      button.disabled = false;
    }
  });
}

// A row's action: control disabled, POST path (with body), then reload() redraws the list
// (and the control); on a failure the control is enabled again and ctx.failed shows it in where.
export async function postThenReload(ctx, control, where, path, body, reload) {
  control.disabled = true;
  try {
    await ctx.api.post(path, body);
    await reload();
  } catch (error) {
    control.disabled = false;
    ctx.failed(error, where);
  }
}

// A list's filter on ?status=: one of statuses, else the first; answers [status, links].
export function statusFilter(ctx, id, statuses, label = (s) => s) {
  const wanted = ctx.params.get("status");
  const status = statuses.includes(wanted) ? wanted : statuses[0];
  return [status, filterLinks(ctx, id, status, statuses.map((s) => [s, label(s), { status: s }]))];
}

// A list's filter on ?state=: first (its default, [value, label]) or all; answers [state, links].
export function stateFilter(ctx, id, [first, label], allLabel) {
  const state = ctx.params.get("state") === "all" ? "all" : first;
  return [state, filterLinks(ctx, id, state, [[first, label, {}], ["all", allLabel, { state: "all" }]])];
}

// A list view's items: all of GET path (ctx.api.all), or null when the view is gone or
// there are none (holder then says none).
export async function loadList(ctx, holder, none, path, query, options) {
  const items = await ctx.api.all(path, query, options);
  if (!ctx.live()) return null;
  if (!items.length) {
    holder.replaceChildren(empty(none));
    return null;
  }
  return items;
}

const numberFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const moneyFormat = new Intl.NumberFormat(undefined, {
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});

export function num(value) {
  if (value === null || value === undefined || value === "") return "–";
  const n = Number(value);
  return Number.isFinite(n) ? numberFormat.format(n) : String(value);
}

// a ratio such as a turnover: two significant digits below 10 (0.0042, 0.35, 2.4)
export function ratio(value) {
  if (value === null || value === undefined || value === "") return "–";
  const n = Number(value);
  if (!Number.isFinite(n)) return String(value);
  return Math.abs(n) >= 10 || n === 0 ? numberFormat.format(n) : String(Number(n.toPrecision(2)));
}

export function money(value) {
  if (value === null || value === undefined || value === "") return "–";
  const n = Number(value);
  return Number.isFinite(n) ? moneyFormat.format(n) : String(value);
}

// a moment as local "YYYY-MM-DD HH:MM"
export function when(ts) {
  if (!ts) return "–";
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return String(ts);
  const pad = (n) => String(n).padStart(2, "0");
  return `${isoDay(d)} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function day(value) {
  return value ? String(value).slice(0, 10) : "–";
}

export function isoDay(date) {
  const d = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 10);
}

export function addDays(text, days) {
  const d = new Date(`${text}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export function daysBetween(from, to) {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

// a table: columns [{key, label, num?, cell(row) -> node|text}], rows, rowAttrs(row)
export function table(name, columns, rows, rowAttrs) {
  const head = h("tr", null, columns.map((c) => h("th", { class: c.num ? "num" : null, scope: "col" }, c.label)));
  const body = h("tbody");
  for (const row of rows) body.append(tableRow(columns, row, rowAttrs));
  return h("table", { dataset: { table: name, rows: rows.length } }, h("thead", null, head), body);
}

export function tableRow(columns, row, rowAttrs) {
  const tr = h("tr", rowAttrs ? rowAttrs(row) : null);
  for (const c of columns) {
    const value = c.cell ? c.cell(row) : row[c.key];
    tr.append(h("td", { class: c.num ? "num" : null, dataset: c.key ? { field: c.key } : {} }, value ?? "–"));
  }
  return tr;
}

export function empty(text) {
  return h("p", { class: "empty", dataset: { empty: "true" } }, text);
}

export function notice(kind, text) {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status", dataset: { notice: kind } }, text);
}

// A list view's frame, appended to ctx.el: the title bar (and a hint under it, when
// given), the view's own controls, then a status line and the holder its list goes in.
export function listFrame(ctx, title, hint, ...controls) {
  const status = h("div", { class: "status" });
  const holder = h("div");
  const bar = h("div", { class: "toolbar" }, h("h1", null, title));
  const hints = hint ? [h("p", { class: "hint" }, hint)] : [];
  ctx.el.append(bar, ...hints, ...controls, status, holder);
  return { status, holder };
}

export function section(title, ...children) {
  return h("section", { class: "panel" }, h("h2", null, title), ...children);
}

export function badge(text, kind) {
  return h("span", { class: `badge ${kind || ""}`.trim() }, text);
}

// ---- CSV ---------------------------------------------------------------------------------

// a cell that a spreadsheet would read as a formula is prefixed with ' (as the server does)
function csvCell(value) {
  if (value === null || value === undefined) return "";
  let text = String(value);
  if (typeof value !== "number" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csv(header, rows) {
  return [header, ...rows].map((r) => r.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

// hand a text to the browser as a downloaded file
export function download(filename, text, type = "text/csv") {
  const url = URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }));
  const a = h("a", { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// run `fn` at most once per `ms`, the last call winning (a burst of feed events → one reload)
export function debounce(fn, ms) {
  let timer = null;
  const run = () => {
    timer = null;
    fn();
  };
  const call = () => {
    if (timer === null) timer = setTimeout(run, ms);
  };
  call.cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  return call;
}
