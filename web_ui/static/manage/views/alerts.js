// Alerts: the active ones (or all, with ?state=all), newest first; acknowledge one.
//
// API: GET /alerts?state=, POST /alerts/{id}/acknowledge. Live: alert.raised, .cleared and
// .acknowledged reload the list (after a short pause, so a burst is one request).
//
// Testing hooks: table[data-table=alerts], tr[data-alert-id][data-kind][data-sku]
// [data-acknowledged] (true|false)[data-active], button[data-action=acknowledge],
// a[data-filter=active|all].

import { debounce, h, listFrame, loadList, num, postThenReload, stateFilter, table, when } from "/static/manage/ui.js";

const KIND = {
  out_of_stock: "out of stock",
  low_stock: "low stock",
  projected_stockout: "projected stock-out",
  expired: "expired stock",
};

export const view = {
  id: "alerts",
  title: "Alerts",
  async render(ctx) {
    const [state, filter] = stateFilter(ctx, "alerts", ["active", "Active"], "All, cleared too");
    const { status, holder } = listFrame(ctx, "Alerts", null, filter);

    function acknowledge(alert, button) {
      return postThenReload(ctx, button, status, `/alerts/${alert.id}/acknowledge`, undefined, load);
    }

    async function load() {
      const none = state === "active" ? "No active alerts." : "No alerts yet.";
      const items = await loadList(ctx, holder, none, "/alerts", { state, limit: 500 }, { max: 2000 });
      if (!items) return;
      const columns = [
        { key: "kind", label: "Alert", cell: (a) => h("span", { class: `kind ${a.kind}` }, KIND[a.kind] || a.kind) },
        { key: "sku", label: "SKU", cell: (a) => h("a", { href: ctx.hashOf("forecasts", [a.sku]) }, a.sku) },
        { key: "name", label: "Name" },
        { key: "available", label: "Available", num: true, cell: (a) => num(a.available) },
        { key: "threshold", label: "Threshold", num: true, cell: (a) => num(a.threshold) },
        { key: "raised_at", label: "Raised", cell: (a) => when(a.raised_at) },
        {
          key: "acknowledged",
          label: "Acknowledged",
          cell: (a) => {
            if (a.acknowledged_at) return `${when(a.acknowledged_at)} by ${a.acknowledged_by || "?"}`;
            if (!a.active) return `cleared ${when(a.cleared_at)}`;
            const button = h("button", { type: "button", dataset: { action: "acknowledge" } }, "Acknowledge");
            button.addEventListener("click", () => acknowledge(a, button));
            return button;
          },
        },
      ];
      holder.replaceChildren(
        table("alerts", columns, items, (a) => ({
          class: a.active ? (a.acknowledged_at ? "acknowledged" : "waiting") : "cleared",
          dataset: {
            alertId: a.id,
            kind: a.kind,
            sku: a.sku,
            acknowledged: String(!!a.acknowledged_at),
            active: String(a.active),
          },
        })),
      );
    }

    await load();
    const reload = debounce(() => load().catch((error) => ctx.failed(error, status)), 400);
    return {
      onEvent(ev) {
        if (ev.type.startsWith("alert.")) reload();
      },
      onSnapshot: reload,
      destroy: reload.cancel,
    };
  },
};
