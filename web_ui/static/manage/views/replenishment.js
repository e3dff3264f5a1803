// Replenishment: what to order and by when, per product, from the forecast, lead time and
// safety stock (the products that need an order, or all with ?needed=0). Select rows,
// adjust quantities, and create one purchase order from them.
//
// API: GET /replenishment?needed= (cursor pages), POST /purchase-orders.
//
// Testing hooks: table[data-table=replenishment], tr[data-sku][data-order-by]
// [data-urgent] (order-by today or past), input[data-select] (a row's checkbox),
// input[data-quantity], form[data-form=create-po] input[name=number|supplier|
// expected_date], button[data-action=create-po], [data-created-po] (the number made),
// button[data-action=more].

import { addDays, empty, h, isoDay, notice, num, onClick } from "/static/manage/ui.js";

const PAGE = 100;

function defaultNumber() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `PO-${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}-${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
}

export const view = {
  id: "replenishment",
  title: "Replenishment",
  async render(ctx) {
    const needed = ctx.params.get("needed") !== "0";
    const today = isoDay(new Date());
    const note = h("div", { class: "status" });
    const tbody = h("tbody");
    const all = h("input", { type: "checkbox", title: "select all shown", dataset: { selectAll: "true" } });
    const table = h(
      "table",
      { dataset: { table: "replenishment" } },
      h(
        "thead",
        null,
        h("tr", null, h("th", null, all), ["SKU", "Order qty", "Order by", "Stock-out", "Arrives if ordered today", "Lead time", "Available", "On order", "Backordered", "Method"].map((c, i) => h("th", { class: [1, 5, 6, 7, 8].includes(i) ? "num" : null }, c))),
      ),
      tbody,
    );
    const more = h("button", { type: "button", dataset: { action: "more" }, hidden: true }, "More");
    const number = h("input", { name: "number", value: defaultNumber(), required: true, maxlength: 64 });
    const supplier = h("input", { name: "supplier", placeholder: "optional", maxlength: 200 });
    const expected = h("input", { name: "expected_date", type: "date", required: true });
    const count = h("span", { dataset: { selected: "0" } }, "0 selected");
    const create = h("button", { type: "submit", dataset: { action: "create-po" }, disabled: true }, "Create purchase order");
    const form = h(
      "form",
      { class: "create-po", dataset: { form: "create-po" } },
      count,
      h("label", null, "Number", number),
      h("label", null, "Supplier", supplier),
      h("label", null, "Expected", expected),
      create,
    );
    const filter = h(
      "p",
      { class: "filters" },
      h("a", { href: ctx.hashOf("replenishment"), dataset: { filter: "needed" }, "aria-current": needed ? "true" : null }, "Needing an order"),
      " · ",
      h("a", { href: ctx.hashOf("replenishment", [], { needed: "0" }), dataset: { filter: "all" }, "aria-current": needed ? null : "true" }, "All products"),
    );
    ctx.el.append(h("div", { class: "toolbar" }, h("h1", null, "Replenishment")), filter, form, note, table, more);

    const rows = new Map(); // sku -> {item, tr, box, qty}
    let cursor = null;
    let expectedTouched = false;
    expected.addEventListener("input", () => {
      expectedTouched = true;
    });

    function selected() {
      return [...rows.values()].filter((r) => r.box.checked);
    }

    function selectionChanged() {
      const chosen = selected();
      count.textContent = `${chosen.length} selected`;
      count.dataset.selected = String(chosen.length);
      create.disabled = chosen.length === 0;
      if (!expectedTouched) {
        // when the slowest of them would arrive if ordered today
        const lead = Math.max(0, ...chosen.map((r) => Number(r.item.lead_time_days) || 0));
        expected.value = addDays(today, lead);
      }
    }

    function row(item) {
      const box = h("input", { type: "checkbox", dataset: { select: item.sku } });
      const qty = h("input", { type: "number", min: 1, max: 1000000, value: item.order_quantity || item.reorder_qty || 1, dataset: { quantity: item.sku } });
      box.addEventListener("change", selectionChanged);
      const urgent = item.order_by && item.order_by <= today;
      const tr = h(
        "tr",
        { class: urgent ? "urgent" : null, dataset: { sku: item.sku, orderBy: item.order_by || "", urgent: String(!!urgent) } },
        h("td", null, box),
        h("td", { dataset: { field: "sku" } }, h("a", { href: ctx.hashOf("forecasts", [item.sku]) }, item.sku)),
        h("td", { class: "num", dataset: { field: "order_quantity" } }, qty),
        h("td", { dataset: { field: "order_by" } }, item.order_by ? (urgent ? `${item.order_by} · now` : item.order_by) : "no order needed"),
        h("td", { dataset: { field: "stockout_date" } }, item.stockout_date || "–"),
        h("td", { dataset: { field: "arrival_date" } }, item.arrival_date || "–"),
        h("td", { class: "num", dataset: { field: "lead_time_days" } }, item.lead_time_days === undefined ? "–" : `${item.lead_time_days} d`),
        h("td", { class: "num", dataset: { field: "available" } }, num(item.available)),
        h("td", { class: "num", dataset: { field: "on_order" } }, num(item.on_order)),
        h("td", { class: "num", dataset: { field: "backordered" } }, num(item.backordered)),
        h("td", { dataset: { field: "method" } }, item.method || "–"),
      );
      rows.set(item.sku, { item, tr, box, qty });
      return tr;
    }

    async function loadPage() {
      const page = await ctx.api.page("/replenishment", { needed: needed ? "true" : "false", limit: PAGE }, cursor);
      cursor = page.next_cursor;
      for (const item of page.items) tbody.append(row(item));
      more.hidden = !cursor;
      table.dataset.rows = String(rows.size);
      if (!rows.size) note.replaceChildren(empty("Nothing needs ordering."));
    }

    all.addEventListener("change", () => {
      for (const r of rows.values()) r.box.checked = all.checked;
      selectionChanged();
    });
    onClick(ctx, more, note, loadPage);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const chosen = selected();
      if (!chosen.length) return;
      const lines = chosen.map((r) => ({ sku: r.item.sku, quantity: Number(r.qty.value) }));
      const bad = lines.find((l) => !Number.isInteger(l.quantity) || l.quantity < 1);
      if (bad) {
        note.replaceChildren(notice("error", `${bad.sku}: the quantity must be a whole number, at least 1.`));
        return;
      }
      const body = { number: number.value.trim(), expected_date: expected.value, lines };
      if (supplier.value.trim()) body.supplier = supplier.value.trim();
      create.disabled = true;
      try {
        const po = await ctx.api.post("/purchase-orders", body);
        const link = h("a", { href: ctx.hashOf("purchase-orders"), dataset: { createdPo: po.number } }, po.number);
        note.replaceChildren(
          h("p", { class: "notice ok", role: "status", dataset: { notice: "ok" } }, "Purchase order ", link, ` created: ${lines.length} line${lines.length === 1 ? "" : "s"}, expected ${po.expected_date}.`),
        );
        for (const r of chosen) {
          r.box.checked = false;
          r.tr.dataset.ordered = po.number;
        }
        number.value = defaultNumber();
        selectionChanged();
      } catch (error) {
        ctx.failed(error, note);
        create.disabled = false;
      }
    });
    selectionChanged();
    await loadPage();
    return {};
  },
};
