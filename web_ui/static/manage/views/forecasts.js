// Forecasts: one product's chart (#/forecasts/<SKU>?weeks=26&history=52): its past weekly
// demand, the forecast and its interval, the method chosen and its backtest error, and
// the projected stock-out date against the lead time (would an order placed today arrive
// in time?). Without a SKU: a SKU field and the products with a projected_stockout alert.
//
// API: GET /forecasts/{sku}?weeks=&history= (history and the replenishment suggestion
// come with it), GET /products/{sku}, GET /alerts?kind=projected_stockout.
//
// Testing hooks: form[data-form=forecast-sku] input[name=sku], [data-chart=forecast]
// [data-points][data-series], [data-field=method|backtest_error|stockout_date|
// arrival_date|lead_time_days|order_by|available], [data-stockout-before-arrival]
// (true|false|unknown), a[data-sku] (the shortcut list).

import { empty, h, isoDay, num } from "/static/manage/ui.js";

function fact(label, field, value, extra) {
  return h("div", { class: "fact", dataset: { field } }, h("span", { class: "label" }, label), h("b", null, value ?? "–"), extra || null);
}

const METHOD = {
  no_demand: "no demand",
  naive: "naive (last week)",
  seasonal_naive: "seasonal naive (last year)",
  ses: "simple exponential smoothing",
  seasonal_naive_level: "last year's pattern, re-levelled",
  seasonal_decomposition: "seasonal decomposition",
  holt_winters_additive: "Holt-Winters, additive",
  holt_winters_multiplicative: "Holt-Winters, multiplicative",
  theta: "theta",
  croston_sba: "Croston (SBA), intermittent demand",
  tsb: "TSB, intermittent demand",
};

export const view = {
  id: "forecasts",
  title: "Forecasts",
  async render(ctx) {
    const sku = ctx.args[0] || "";
    const weeks = Math.min(104, Math.max(1, Number(ctx.params.get("weeks")) || 26));
    const history = Math.min(520, Math.max(1, Number(ctx.params.get("history")) || 52));
    const input = h("input", { name: "sku", value: sku, placeholder: "SKU", required: true, spellcheck: "false" });
    const form = h("form", { class: "filters", dataset: { form: "forecast-sku" } }, h("label", null, "Product", input), h("button", { type: "submit", dataset: { action: "search" } }, "Show"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const next = input.value.trim();
      if (next) ctx.go(ctx.hashOf("forecasts", [next], { weeks: ctx.params.get("weeks"), history: ctx.params.get("history") }));
    });
    ctx.el.append(h("div", { class: "toolbar" }, h("h1", null, sku ? `Forecast · ${sku}` : "Forecasts")), form);

    if (!sku) {
      const alerts = await ctx.api.get("/alerts", { kind: "projected_stockout", limit: 30 });
      const list = h("ul", { class: "shortcuts" });
      for (const a of alerts.items) {
        list.append(h("li", null, h("a", { href: ctx.hashOf("forecasts", [a.sku]), dataset: { sku: a.sku } }, a.sku), ` ${a.name}`));
      }
      ctx.el.append(
        h("h2", null, "Projected to run out before an order placed today arrives"),
        alerts.items.length ? list : empty("No product is projected to run out."),
      );
      return {};
    }

    const [forecast, product] = await Promise.all([
      ctx.api.get(`/forecasts/${encodeURIComponent(sku)}`, { weeks, history }),
      ctx.api.get(`/products/${encodeURIComponent(sku)}`),
    ]);
    const plan = forecast.replenishment || {};
    const today = isoDay(new Date());
    const stockout = plan.stockout_date || null;
    const arrival = plan.arrival_date || null;
    const short = stockout && arrival ? stockout < arrival : null;
    const verdict =
      short === null
        ? h("p", { class: "verdict", dataset: { stockoutBeforeArrival: "unknown" } }, stockout ? "No arrival date: no lead time known." : "No stock-out projected within the forecast.")
        : h(
            "p",
            { class: `verdict ${short ? "short" : "ok"}`, dataset: { stockoutBeforeArrival: String(short) } },
            short
              ? `Stock runs out on ${stockout}, before an order placed today could arrive (${arrival}, lead time ${plan.lead_time_days} days).`
              : `An order placed today arrives on ${arrival} (lead time ${plan.lead_time_days} days), before the projected stock-out on ${stockout}.`,
          );
    const err = forecast.backtest_error;
    const facts = h(
      "div",
      { class: "facts" },
      fact("Product", "name", product.name, h("small", null, ` ${product.category}`)),
      fact("Method", "method", METHOD[forecast.method] || forecast.method, h("small", null, ` ${forecast.method}`)),
      fact("Backtest error", "backtest_error", err === null || err === undefined ? "not enough history" : num(err), err === null || err === undefined ? null : h("small", null, err < 1 ? " beats seasonal naive" : " vs seasonal naive")),
      fact("Available", "available", num(plan.available)),
      fact("On order", "on_order", num(plan.on_order)),
      fact("Projected stock-out", "stockout_date", stockout || "none in sight"),
      fact("Lead time", "lead_time_days", plan.lead_time_days === undefined ? "–" : `${plan.lead_time_days} days`),
      fact("Arrives if ordered today", "arrival_date", arrival || "–"),
      fact("Order by", "order_by", plan.order_by || "no order needed", plan.order_by ? h("small", null, ` ${num(plan.order_quantity)} units`) : null),
    );
    const chart = h("div", { class: "chart", dataset: { chart: "forecast" } });
    const legend = h(
      "p",
      { class: "hint" },
      `Weekly demand: ${forecast.history?.length || 0} past weeks and ${forecast.weeks.length} forecast weeks, with the ${Math.round((forecast.interval || 0.9) * 100)}% interval. Lines: today, projected stock-out (red), arrival of an order placed today (green).`,
    );
    ctx.el.append(verdict, facts, chart, legend);
    const { forecastChart } = await import("/static/manage/chart.js");
    if (!ctx.live()) return {};
    forecastChart(chart, {
      history: forecast.history || [],
      weeks: forecast.weeks,
      marks: [
        { day: today, label: "today", color: "#d8dee9", dash: [4, 4] },
        { day: stockout, label: "stock-out", color: "#e06c75", row: 1 },
        { day: arrival, label: "arrival", color: "#9ad17a", row: 2 },
      ],
    });
    return {
      onEvent(ev) {
        if (ev.type === "stock.changed" && ev.sku === sku && ev.product_available !== undefined) {
          const cell = facts.querySelector('[data-field="available"] b');
          if (cell) cell.textContent = num(ev.product_available);
        }
      },
    };
  },
};
