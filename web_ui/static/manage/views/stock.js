// Stock: search by SKU, name or barcode (`q`), location and zone; one row per product
// (on hand, reserved, available, on order, backordered, weight and dimensions) followed by
// its rows per location and lot (with expiry). CSV of everything the search finds.
//
// API: GET /stock?q=&location=&zone= (cursor pages), GET /products/{sku} (weight and
// dimensions), GET /products (the CSV's weights). Live: a stock.changed for a product on
// show updates its figures at once and reloads its rows per location shortly after.
//
// Testing hooks: form[data-form=stock-search] input[name=q|location|zone],
// table[data-table=stock], tr[data-row=product][data-sku] with td[data-field=on_hand|
// reserved|available|on_order|backordered|weight|dimensions], tr[data-row=location]
// [data-sku][data-location][data-lot] with td[data-field=expiry|on_hand|reserved|
// available], button[data-action=more], button[data-action=csv], tr[data-live] (a row
// changed by the feed).

import { csv, debounce, download, h, num, empty, onClick } from "/static/manage/ui.js";

const PAGE = 25;

function dims(p) {
  if (!p) return "…";
  const sides = [p.length_mm, p.width_mm, p.height_mm];
  return sides.every((s) => s === null || s === undefined) ? "–" : sides.map((s) => num(s)).join(" × ") + " mm";
}

function weight(p) {
  if (!p) return "…";
  return p.weight_g === null || p.weight_g === undefined ? "–" : `${num(p.weight_g)} g`;
}

function productRows(item, product, ctx) {
  const rows = [];
  const forecast = h("a", { href: ctx.hashOf("forecasts", [item.sku]), title: "forecast" }, item.sku);
  rows.push(
    h(
      "tr",
      { class: `product${item.below_reorder_point ? " low" : ""}`, dataset: { row: "product", sku: item.sku } },
      h("td", { dataset: { field: "sku" } }, forecast),
      h("td", { dataset: { field: "name" }, colspan: 3 }, item.name),
      ...["on_hand", "reserved", "available", "on_order", "backordered"].map((k) =>
        h("td", { class: "num", dataset: { field: k } }, num(item[k])),
      ),
      h("td", { class: "num", dataset: { field: "weight" } }, weight(product)),
      h("td", { class: "num", dataset: { field: "dimensions" } }, dims(product)),
    ),
  );
  for (const l of item.locations || []) {
    rows.push(
      h(
        "tr",
        { class: "location", dataset: { row: "location", sku: item.sku, location: l.location, lot: l.lot || "" } },
        h("td"),
        h("td", { dataset: { field: "location" } }, `${l.location}`, h("small", null, ` zone ${l.zone}`)),
        h("td", { dataset: { field: "lot" } }, l.lot || "–"),
        h("td", { dataset: { field: "expiry" } }, l.expiry || "–"),
        h("td", { class: "num", dataset: { field: "on_hand" } }, num(l.on_hand)),
        h("td", { class: "num", dataset: { field: "reserved" } }, num(l.reserved)),
        h("td", { class: "num", dataset: { field: "available" } }, num(l.available)),
        h("td"),
        h("td"),
        h("td"),
        h("td"),
      ),
    );
  }
  return rows;
}

async function stockCsv(ctx, query) {
  const [items, products] = await Promise.all([
    ctx.api.all("/stock", { ...query, limit: 1000 }),
    ctx.api.all("/products", { limit: 1000 }),
  ]);
  const bySku = new Map(products.map((p) => [p.sku, p]));
  const header = [
    "sku", "name", "location", "zone", "lot", "expiry", "on_hand", "reserved", "available",
    "on_order", "backordered", "weight_g", "length_mm", "width_mm", "height_mm",
  ];
  const rows = [];
  for (const s of items) {
    const p = bySku.get(s.sku) || {};
    const tail = [p.weight_g, p.length_mm, p.width_mm, p.height_mm];
    rows.push([s.sku, s.name, "", "", "", "", s.on_hand, s.reserved, s.available, s.on_order, s.backordered, ...tail]);
    for (const l of s.locations || []) {
      rows.push([s.sku, s.name, l.location, l.zone, l.lot, l.expiry, l.on_hand, l.reserved, l.available, "", "", ...tail]);
    }
  }
  return csv(header, rows);
}

export const view = {
  id: "stock",
  title: "Stock",
  async render(ctx) {
    const query = {
      q: ctx.params.get("q") || null,
      location: ctx.params.get("location") || null,
      zone: ctx.params.get("zone") || null,
    };
    const field = (name, label, placeholder) =>
      h("label", null, label, h("input", { name, value: query[name] || "", placeholder, spellcheck: "false" }));
    const form = h(
      "form",
      { class: "filters", dataset: { form: "stock-search" } },
      field("q", "Search", "SKU, name or barcode"),
      field("location", "Location", "e.g. A-01"),
      field("zone", "Zone", "e.g. A"),
      h("button", { type: "submit", dataset: { action: "search" } }, "Search"),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const data = new FormData(form);
      ctx.go(ctx.hashOf("stock", [], Object.fromEntries([...data].map(([k, v]) => [k, String(v).trim()]))));
    });
    const status = h("div", { class: "status" });
    const csvButton = h("button", { type: "button", dataset: { action: "csv" } }, "Download CSV");
    onClick(ctx, csvButton, status, async () => download("stock.csv", await stockCsv(ctx, query)));
    const columns = ["SKU", "Name / location", "Lot", "Expiry", "On hand", "Reserved", "Available", "On order", "Backordered", "Weight", "L × W × H"];
    const tbody = h("tbody");
    const table = h(
      "table",
      { dataset: { table: "stock" } },
      h("thead", null, h("tr", null, columns.map((c, i) => h("th", { class: i >= 4 ? "num" : null, scope: "col" }, c)))),
      tbody,
    );
    const more = h("button", { type: "button", dataset: { action: "more" }, hidden: true }, "More");
    ctx.el.append(h("div", { class: "toolbar" }, h("h1", null, "Stock"), csvButton), form, status, table, more);

    const groups = new Map(); // sku -> {rows, product}
    let cursor = null;

    function place(item, product) {
      const rows = productRows(item, product, ctx);
      const old = groups.get(item.sku);
      if (old) {
        old.rows[0].before(...rows);
        for (const r of old.rows) r.remove();
      } else {
        tbody.append(...rows);
      }
      groups.set(item.sku, { rows, product, item });
      return rows;
    }

    async function loadPage() {
      const page = await ctx.api.page("/stock", { ...query, limit: PAGE }, cursor);
      cursor = page.next_cursor;
      for (const item of page.items) place(item, null);
      more.hidden = !cursor;
      table.dataset.rows = String(groups.size);
      if (!groups.size) status.replaceChildren(empty("No product matches."));
      // weight and dimensions come from the product master, filled in as they arrive
      for (const item of page.items) {
        ctx.api.get(`/products/${encodeURIComponent(item.sku)}`).then(
          (product) => {
            const g = groups.get(item.sku);
            if (!g) return;
            g.product = product;
            g.rows[0].querySelector('[data-field="weight"]').textContent = weight(product);
            g.rows[0].querySelector('[data-field="dimensions"]').textContent = dims(product);
          },
          () => {},
        );
      }
    }

    onClick(ctx, more, status, loadPage);
    await loadPage();

    const changed = new Set();
    const reload = debounce(async () => {
      const skus = [...changed];
      changed.clear();
      for (const sku of skus) {
        const g = groups.get(sku);
        if (!g) continue;
        try {
          const page = await ctx.api.get("/stock", { ...query, sku, limit: 1 });
          const item = page.items[0];
          if (item) place(item, g.product)[0].dataset.live = "true";
        } catch {
          // the next event or a reload will try again
        }
      }
    }, 600);
    return {
      onEvent(ev) {
        if (ev.type !== "stock.changed") return;
        const g = groups.get(ev.sku);
        if (!g) return;
        const row = g.rows[0];
        if (ev.product_on_hand !== undefined) row.querySelector('[data-field="on_hand"]').textContent = num(ev.product_on_hand);
        if (ev.product_available !== undefined) row.querySelector('[data-field="available"]').textContent = num(ev.product_available);
        row.dataset.live = "true";
        changed.add(ev.sku);
        reload();
      },
      destroy() {
        reload.cancel();
      },
    };
  },
};
