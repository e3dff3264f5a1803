// Orders and backorders: customer orders with each line's reserved, backordered and picked
// units (a partly filled line shows both), and the backorder queue in fill order (FIFO per
// product, priority first) with the date a purchase order is expected to bring the stock.
//
// API: GET /orders?status=, GET /backorders. Live: order.* and backorder.* reload both.
//
// Testing hooks: table[data-table=orders], tr[data-order][data-status][data-sku] (one row
// per line) with td[data-field=quantity|reserved|backordered|picked], tr[data-fill=partial|waiting|reserved|picked]
// (partial: some reserved or picked, the rest waiting), table[data-table=backorders], tr[data-backorder]
// [data-order][data-sku][data-position][data-expected], a[data-filter].

import { debounce, empty, h, num, section, statusFilter, when } from "/static/manage/ui.js";

const STATUSES = ["open", "complete", "cancelled"];

// a line's state: all picked, all reserved (waiting to be picked), partly filled (some
// reserved or picked, the rest backordered), or all of it waiting on backorder
function fill(line) {
  if (line.backordered > 0) return line.reserved + line.picked > 0 ? "partial" : "waiting";
  return line.picked >= line.quantity ? "picked" : "reserved";
}

export const view = {
  id: "orders",
  title: "Orders and backorders",
  async render(ctx) {
    const [status, filters] = statusFilter(ctx, "orders", STATUSES);
    const note = h("div", { class: "status" });
    const ordersBox = h("div");
    const queueBox = h("div");
    ctx.el.append(
      h("div", { class: "toolbar" }, h("h1", null, "Orders and backorders")),
      note,
      section("Backorder queue (fill order)", queueBox),
      section("Customer orders", filters, ordersBox),
    );

    async function load() {
      const [orders, queue] = await Promise.all([
        ctx.api.all("/orders", { status, limit: 500 }, { max: 2000 }),
        ctx.api.all("/backorders", { limit: 1000 }, { max: 5000 }),
      ]);
      if (!ctx.live()) return;
      if (queue.length) {
        const body = h("tbody");
        for (const b of queue) {
          body.append(
            h(
              "tr",
              { dataset: { backorder: `${b.order} ${b.sku}`, order: b.order, sku: b.sku, position: b.position, expected: b.expected_date || "" } },
              h("td", { dataset: { field: "sku" } }, h("a", { href: ctx.hashOf("forecasts", [b.sku]) }, b.sku)),
              h("td", { class: "num", dataset: { field: "position" } }, `#${b.position}`),
              h("td", { dataset: { field: "order" } }, b.order),
              h("td", { class: "num", dataset: { field: "quantity" } }, num(b.quantity)),
              h("td", { class: "num", dataset: { field: "priority" } }, num(b.priority)),
              h("td", { dataset: { field: "expected_date" } }, b.expected_date || "no purchase order"),
              h("td", { dataset: { field: "created_at" } }, when(b.created_at)),
            ),
          );
        }
        queueBox.replaceChildren(
          h(
            "table",
            { dataset: { table: "backorders", rows: queue.length } },
            h("thead", null, h("tr", null, ["SKU", "Position", "Order", "Waiting", "Priority", "Expected", "Since"].map((c, i) => h("th", { class: [1, 3, 4].includes(i) ? "num" : null }, c)))),
            body,
          ),
        );
      } else {
        queueBox.replaceChildren(empty("No backorders waiting."));
      }
      if (!orders.length) {
        ordersBox.replaceChildren(empty(`No ${status} orders.`));
        return;
      }
      const body = h("tbody");
      for (const o of orders) {
        o.lines.forEach((line, i) => {
          const state = fill(line);
          body.append(
            h(
              "tr",
              { class: i ? "line" : "first", dataset: { order: o.number, status: o.status, sku: line.sku, fill: state } },
              h("td", { dataset: { field: "number" } }, i ? "" : o.number),
              h("td", { dataset: { field: "customer" } }, i ? "" : o.customer || "–"),
              h("td", { dataset: { field: "created_at" } }, i ? "" : when(o.created_at)),
              h("td", { dataset: { field: "sku" } }, line.sku),
              h("td", { class: "num", dataset: { field: "quantity" } }, num(line.quantity)),
              h("td", { class: "num", dataset: { field: "reserved" } }, num(line.reserved)),
              h("td", { class: "num", dataset: { field: "backordered" } }, num(line.backordered)),
              h("td", { class: "num", dataset: { field: "picked" } }, num(line.picked)),
              h("td", { dataset: { field: "fill" } }, h("span", { class: `fill ${state}` }, state)),
            ),
          );
        });
      }
      ordersBox.replaceChildren(
        h(
          "table",
          { dataset: { table: "orders", rows: orders.length } },
          h("thead", null, h("tr", null, ["Order", "Customer", "Created", "SKU", "Ordered", "Reserved", "Backordered", "Picked", "Fill"].map((c, i) => h("th", { class: i >= 4 && i <= 7 ? "num" : null }, c)))),
          body,
        ),
      );
    }

    await load();
    const reload = debounce(() => load().catch((error) => ctx.failed(error, note)), 500);
    return {
      onEvent(ev) {
        if (ev.type.startsWith("order.") || ev.type.startsWith("backorder.")) reload();
      },
      onSnapshot: reload,
      destroy: reload.cancel,
    };
  },
};
