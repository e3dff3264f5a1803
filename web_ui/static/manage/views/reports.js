// Reports: inventory turnover over a period, deadstock and slow movers, and stock valuation,
// each as a chart by category, a table by category (and the products behind it), and the
// server's CSV (#/reports?from=&to=&days=&at=).
//
// API: GET /reports/turnover?from=&to=, /reports/deadstock?days=, /reports/valuation?at=,
// each with format=csv for the download.
//
// Testing hooks: form[data-form=reports] input[name=from|to|days|at],
// section[data-report=turnover|deadstock|valuation], [data-chart=turnover|deadstock|
// valuation][data-points][data-series], table[data-table=<report>-categories] tr[data-
// category], table[data-table=<report>-products] tr[data-sku],
// button[data-action=csv][data-report], [data-field=total].

import { addDays, download, empty, h, isoDay, money, num, onClick, ratio, table } from "/static/manage/ui.js";

const SHOWN = 15; // products listed under each report (the CSV has them all)

function value(v) {
  return v === null || v === undefined ? null : Number(v);
}

// A report's bar chart by category (charts: the lazily loaded chart.js), or, without
// categories, the text saying so (the data-chart and data-points hooks set either way).
function categoryChart(charts, chart, name, cats, series, label, none) {
  if (cats.length) {
    charts.barChart(chart, { name, categories: cats.map((c) => c.category), series, label });
    return;
  }
  chart.replaceChildren(empty(none));
  chart.dataset.chart = name;
  chart.dataset.points = "0";
}

export const view = {
  id: "reports",
  title: "Reports",
  async render(ctx) {
    const today = isoDay(new Date());
    const to = ctx.params.get("to") || today;
    const from = ctx.params.get("from") || addDays(to, -90);
    const days = Number(ctx.params.get("days")) || 90;
    const at = ctx.params.get("at") || today;
    const input = (name, label, val, type = "date") => h("label", null, label, h("input", { name, type, value: val, required: true }));
    const form = h(
      "form",
      { class: "filters", dataset: { form: "reports" } },
      input("from", "Turnover from", from),
      input("to", "to", to),
      input("days", "Deadstock: no pick for (days)", String(days), "number"),
      input("at", "Valuation at", at),
      h("button", { type: "submit", dataset: { action: "search" } }, "Show"),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const data = Object.fromEntries(new FormData(form));
      ctx.go(ctx.hashOf("reports", [], data));
    });
    ctx.el.append(h("div", { class: "toolbar" }, h("h1", null, "Reports")), form);

    const queries = {
      turnover: { from, to },
      deadstock: { days },
      valuation: { at },
    };
    const [turnover, deadstock, valuation] = await Promise.all(
      Object.entries(queries).map(([name, q]) => ctx.api.get(`/reports/${name}`, q)),
    );
    const charts = await import("/static/manage/chart.js");
    if (!ctx.live()) return {};

    function panel(name, title, subtitle) {
      const button = h("button", { type: "button", dataset: { action: "csv", report: name } }, "Download CSV");
      const status = h("div", { class: "status" });
      onClick(ctx, button, status, async () => {
        const text = await ctx.api.text(`/reports/${name}`, { ...queries[name], format: "csv" });
        download(`${name}.csv`, text);
      });
      const chart = h("div", { class: "chart" });
      const el = h("section", { class: "panel report", dataset: { report: name } }, h("div", { class: "toolbar" }, h("h2", null, title, h("small", null, ` ${subtitle}`)), button), status, chart);
      ctx.el.append(el);
      return { el, chart };
    }

    // -- turnover
    {
      const { el, chart } = panel("turnover", "Inventory turnover", `${from} to ${to}`);
      const cats = turnover.categories || [];
      categoryChart(charts, chart, "turnover", cats, [{ label: "turnover (times)", values: cats.map((c) => value(c.turnover)) }], "times", "No outbound movements in this period.");
      const columns = [
        { key: "category", label: "Category" },
        { key: "products", label: "Products", num: true, cell: (c) => num(c.products) },
        { key: "cost_of_goods_out", label: "Cost of goods out", num: true, cell: (c) => money(c.cost_of_goods_out) },
        { key: "average_inventory_value", label: "Average inventory", num: true, cell: (c) => money(c.average_inventory_value) },
        { key: "turnover", label: "Turnover", num: true, cell: (c) => ratio(c.turnover) },
        { key: "days_of_supply", label: "Days of supply", num: true, cell: (c) => num(c.days_of_supply) },
      ];
      const total = turnover.total ? { ...turnover.total, category: "all" } : null;
      el.append(table("turnover-categories", columns, [...cats, ...(total ? [total] : [])], (c) => ({ dataset: { category: c.category }, class: c === total ? "total" : null })));
      const top = [...(turnover.items || [])].sort((a, b) => (value(b.turnover) ?? -1) - (value(a.turnover) ?? -1)).slice(0, SHOWN);
      if (top.length) {
        el.append(
          h("h3", null, `Fastest movers (${top.length} of ${turnover.items.length})`),
          table(
            "turnover-products",
            [
              { key: "sku", label: "SKU", cell: (p) => h("a", { href: ctx.hashOf("forecasts", [p.sku]) }, p.sku) },
              { key: "name", label: "Name" },
              { key: "category", label: "Category" },
              { key: "units_out", label: "Units out", num: true, cell: (p) => num(p.units_out) },
              { key: "cost_of_goods_out", label: "Cost of goods out", num: true, cell: (p) => money(p.cost_of_goods_out) },
              { key: "turnover", label: "Turnover", num: true, cell: (p) => ratio(p.turnover) },
            ],
            top,
            (p) => ({ dataset: { sku: p.sku } }),
          ),
        );
      }
    }

    // -- deadstock
    {
      const { el, chart } = panel("deadstock", "Deadstock and slow movers", `no pick for ${days} days, or stock outlasting 180 days`);
      const byCategory = new Map();
      for (const item of deadstock.items || []) {
        if (item.status !== "dead" && item.status !== "slow") continue;
        const c = byCategory.get(item.category) || { category: item.category, dead: 0, slow: 0, dead_products: 0, slow_products: 0 };
        c[item.status] += Number(item.value) || 0;
        c[`${item.status}_products`] += 1;
        byCategory.set(item.category, c);
      }
      const cats = [...byCategory.values()].sort((a, b) => a.category.localeCompare(b.category));
      const series = [
        { label: "dead value", values: cats.map((c) => c.dead) },
        { label: "slow value", values: cats.map((c) => c.slow) },
      ];
      categoryChart(charts, chart, "deadstock", cats, series, "value", "No dead or slow stock.");
      el.append(
        h("p", { class: "totals" }, "Tied up: dead ", h("b", { dataset: { field: "dead_value" } }, money(deadstock.dead_value)), " · slow ", h("b", { dataset: { field: "slow_value" } }, money(deadstock.slow_value))),
        table(
          "deadstock-categories",
          [
            { key: "category", label: "Category" },
            { key: "dead_products", label: "Dead products", num: true, cell: (c) => num(c.dead_products) },
            { key: "dead", label: "Dead value", num: true, cell: (c) => money(c.dead) },
            { key: "slow_products", label: "Slow products", num: true, cell: (c) => num(c.slow_products) },
            { key: "slow", label: "Slow value", num: true, cell: (c) => money(c.slow) },
          ],
          cats,
          (c) => ({ dataset: { category: c.category } }),
        ),
      );
      const top = [...(deadstock.items || [])].sort((a, b) => Number(b.value) - Number(a.value)).slice(0, SHOWN);
      if (top.length) {
        el.append(
          h("h3", null, `Most value tied up (${top.length} of ${deadstock.items.length})`),
          table(
            "deadstock-products",
            [
              { key: "status", label: "Status" },
              { key: "sku", label: "SKU", cell: (p) => h("a", { href: ctx.hashOf("forecasts", [p.sku]) }, p.sku) },
              { key: "name", label: "Name" },
              { key: "category", label: "Category" },
              { key: "on_hand", label: "On hand", num: true, cell: (p) => num(p.on_hand) },
              { key: "value", label: "Value", num: true, cell: (p) => money(p.value) },
              { key: "last_outbound", label: "Last pick", cell: (p) => (p.last_outbound ? String(p.last_outbound).slice(0, 10) : "never") },
            ],
            top,
            (p) => ({ dataset: { sku: p.sku, status: p.status } }),
          ),
        );
      }
    }

    // -- valuation
    {
      const { el, chart } = panel("valuation", "Stock valuation", `at the end of ${at}, at current unit costs`);
      const cats = valuation.categories || [];
      categoryChart(charts, chart, "valuation", cats, [{ label: "value", values: cats.map((c) => value(c.value)) }], "value", "No stock.");
      el.append(
        h("p", { class: "totals" }, "Total ", h("b", { dataset: { field: "total" } }, money(valuation.total))),
        table(
          "valuation-categories",
          [
            { key: "category", label: "Category" },
            { key: "value", label: "Value", num: true, cell: (c) => money(c.value) },
          ],
          cats,
          (c) => ({ dataset: { category: c.category } }),
        ),
      );
    }
    return {};
  },
};
