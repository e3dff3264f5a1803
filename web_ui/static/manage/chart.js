// Charts for the manager console, drawn by uPlot (vendored: /static/vendor/uplot/).
//
// Loaded only by the views that draw (import() on first use), so the first view of the
// console does not pay for the library.
//
// Each chart's container gets data-chart=<name>, data-points (the values drawn) and
// data-series (the series' labels, comma-separated): what the tests read.

import uPlot from "/static/vendor/uplot/uPlot.esm.js";

// uPlot's own stylesheet, with the library: the first view does not wait for it
if (!document.querySelector("link[data-uplot]")) {
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/static/vendor/uplot/uPlot.min.css";
  link.dataset.uplot = "true";
  document.head.append(link);
}

const INK = "#d8dee9";
const GRID = "rgba(216, 222, 233, 0.12)";
const COLORS = ["#5fb3f9", "#f0a35e", "#9ad17a", "#e06c75", "#c397d8", "#e5c07b"];

function axis(extra) {
  return { stroke: INK, grid: { stroke: GRID, width: 1 }, ticks: { stroke: GRID }, ...extra };
}

function width(el) {
  return Math.max(320, Math.floor(el.clientWidth || el.parentElement?.clientWidth || 800) - 8);
}

function seconds(day) {
  return Date.parse(`${day}T00:00:00Z`) / 1000;
}

// vertical markers at given days: [{day, label, color}]
function markers(lines) {
  return {
    hooks: {
      draw: [
        (u) => {
          const { ctx } = u;
          const top = u.bbox.top;
          const bottom = top + u.bbox.height;
          ctx.save();
          ctx.font = `${12 * devicePixelRatio}px system-ui, sans-serif`;
          for (const line of lines) {
            if (!line.day) continue;
            const x = Math.round(u.valToPos(seconds(line.day), "x", true));
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
            ctx.strokeStyle = line.color;
            ctx.fillStyle = line.color;
            ctx.lineWidth = 2 * devicePixelRatio;
            ctx.setLineDash(line.dash || []);
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, bottom);
            ctx.stroke();
            ctx.fillText(line.label, x + 4 * devicePixelRatio, top + (12 + 14 * (line.row || 0)) * devicePixelRatio);
          }
          ctx.restore();
        },
      ],
    },
  };
}

// past demand, forecast and its interval by week; markers for today, stock-out, arrival
export function forecastChart(el, { history, weeks, marks }) {
  const days = [...history.map((w) => w.week_start), ...weeks.map((w) => w.week_start)];
  const x = days.map(seconds);
  const past = [...history.map((w) => w.demand), ...weeks.map(() => null)];
  const joined = history.length ? history.length - 1 : -1; // the forecast line starts at the last past week
  const ahead = days.map((_, i) => {
    if (i >= history.length) return weeks[i - history.length].demand;
    return i === joined ? history[joined].demand : null;
  });
  const low = days.map((_, i) => (i >= history.length ? weeks[i - history.length].low ?? null : null));
  const high = days.map((_, i) => (i >= history.length ? weeks[i - history.length].high ?? null : null));
  const opts = {
    width: width(el),
    height: 320,
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    axes: [axis(), axis({ label: "units / week", labelSize: 20 })],
    legend: { live: false },
    series: [
      {},
      { label: "Past demand", stroke: COLORS[0], width: 2 },
      { label: "Forecast", stroke: COLORS[1], width: 2, dash: [8, 5] },
      { label: "Low", stroke: "rgba(240, 163, 94, 0.35)", width: 1, points: { show: false } },
      { label: "High", stroke: "rgba(240, 163, 94, 0.35)", width: 1, points: { show: false } },
    ],
    bands: [{ series: [4, 3], fill: "rgba(240, 163, 94, 0.18)" }],
    plugins: [markers(marks || [])],
  };
  el.replaceChildren();
  const plot = new uPlot(opts, [x, past, ahead, low, high], el);
  el.dataset.chart = el.dataset.chart || "forecast";
  el.dataset.points = String(history.length + weeks.length);
  el.dataset.series = "Past demand,Forecast,Low,High";
  return plot;
}

// bars by category: series [{label, values}] side by side
export function barChart(el, { name, categories, series, label }) {
  const n = categories.length;
  const x = categories.map((_, i) => i);
  // one series: centred bars; two: side by side (left and right of the category)
  const pair = series.length === 2;
  const bars = series.map((s, i) => ({
    label: s.label,
    fill: COLORS[i % COLORS.length],
    stroke: COLORS[i % COLORS.length],
    width: 0,
    paths: uPlot.paths.bars({ size: [pair ? 0.4 : 0.6, 90], align: pair ? (i ? 1 : -1) : 0 }),
    points: { show: false },
  }));
  const opts = {
    width: width(el),
    height: 260,
    scales: {
      x: { time: false, range: [-0.5, Math.max(0.5, n - 0.5)] },
      y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] },
    },
    axes: [
      axis({ splits: () => x, values: (u, splits) => splits.map((i) => categories[i] ?? "") }),
      axis({ label, labelSize: 20, size: 70 }),
    ],
    legend: { live: false },
    series: [{}, ...bars],
  };
  el.replaceChildren();
  const plot = new uPlot(opts, [x, ...series.map((s) => s.values.map((v) => (v === null ? null : Number(v))))], el);
  el.dataset.chart = name;
  el.dataset.points = String(n * series.length);
  el.dataset.series = series.map((s) => s.label).join(",");
  return plot;
}
