// Purchase orders: number, supplier, expected date, status and each line's units
// received so far.
//
// API: GET /purchase-orders?status=. Live: a receipt (stock.changed) reloads the list.
//
// Testing hooks: table[data-table=purchase-orders], tr[data-po][data-status][data-sku]
// (one row per line) with td[data-field=quantity|received|expected_date], a[data-filter].

import { debounce, h, listFrame, loadList, num, statusFilter, when } from "/static/manage/ui.js";

const STATUSES = ["open", "received", "cancelled"];

export const view = {
  id: "purchase-orders",
  title: "Purchase orders",
  async render(ctx) {
    const [status, filters] = statusFilter(ctx, "purchase-orders", STATUSES);
    const { status: note, holder } = listFrame(ctx, "Purchase orders", null, filters);

    async function load() {
      const none = `No ${status} purchase orders.`;
      const items = await loadList(ctx, holder, none, "/purchase-orders", { status, limit: 500 }, { max: 2000 });
      if (!items) return;
      const body = h("tbody");
      for (const po of items) {
        po.lines.forEach((line, i) => {
          body.append(
            h(
              "tr",
              { class: i ? "line" : "first", dataset: { po: po.number, status: po.status, sku: line.sku } },
              h("td", { dataset: { field: "number" } }, i ? "" : po.number),
              h("td", { dataset: { field: "supplier" } }, i ? "" : po.supplier || "–"),
              h("td", { dataset: { field: "expected_date" } }, i ? "" : po.expected_date),
              h("td", { dataset: { field: "status" } }, i ? "" : po.status),
              h("td", { dataset: { field: "sku" } }, h("a", { href: ctx.hashOf("forecasts", [line.sku]) }, line.sku)),
              h("td", { class: "num", dataset: { field: "quantity" } }, num(line.quantity)),
              h("td", { class: "num", dataset: { field: "received" } }, num(line.received)),
              h("td", null, h("progress", { max: line.quantity, value: line.received })),
              h("td", { dataset: { field: "created_at" } }, i ? "" : when(po.created_at)),
            ),
          );
        });
      }
      holder.replaceChildren(
        h(
          "table",
          { dataset: { table: "purchase-orders", rows: items.length } },
          h("thead", null, h("tr", null, ["Number", "Supplier", "Expected", "Status", "SKU", "Ordered", "Received", "", "Created"].map((c, i) => h("th", { class: i === 5 || i === 6 ? "num" : null }, c)))),
          body,
        ),
      );
    }

    await load();
    const reload = debounce(() => load().catch((error) => ctx.failed(error, note)), 800);
    return {
      onEvent(ev) {
        if (ev.type === "stock.changed" && ev.kind === "receive" && !ev.scanner) reload();
        else if (ev.type.startsWith("purchase_order.")) reload();
      },
      destroy: reload.cancel,
    };
  },
};
