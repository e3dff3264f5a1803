// Scanners: each one's state (connected, reconnecting, misconfigured), mode, location,
// last scan and counters (frames, acks, naks, committed, rejected, spooled, …), and its
// gateway's spool.
//
// API: GET /scanners. Live: scanner.status updates a row's state at once; any scan event
// reloads the counters after a short pause.
//
// Testing hooks: table[data-table=scanners], tr[data-scanner][data-state][data-live],
// td[data-counter=<name>].

import { debounce, h, listFrame, loadList, num, table, when } from "/static/manage/ui.js";

const COUNTERS = ["frames", "acks", "naks", "committed", "rejected", "spooled", "garbled", "disconnects"];

export const view = {
  id: "scanners",
  title: "Scanners",
  async render(ctx) {
    const { status, holder } = listFrame(ctx, "Scanners", null);

    async function load() {
      const items = await loadList(ctx, holder, "No scanner has reported yet.", "/scanners", { limit: 1000 });
      if (!items) return;
      const columns = [
        { key: "id", label: "Scanner" },
        { key: "state", label: "State", cell: (s) => h("span", { class: `state ${s.state}`, title: s.detail || "" }, s.state) },
        { key: "gateway", label: "Gateway" },
        { key: "mode", label: "Mode", cell: (s) => s.mode || "–" },
        { key: "location", label: "Location", cell: (s) => s.location || "–" },
        { key: "last_scan_at", label: "Last scan", cell: (s) => (s.last_scan_at ? `${when(s.last_scan_at)} · ${s.last_code || ""}` : "–") },
        ...COUNTERS.map((c) => ({ label: c, num: true, cell: (s) => num(s.counters?.[c] ?? 0) })),
        {
          key: "spool",
          label: "Spool",
          num: true,
          cell: (s) => (s.spool ? `${num(s.spool.depth)}${s.spool.full ? " FULL" : ""}` : "–"),
        },
      ];
      const t = table("scanners", columns, items, (s) => ({
        dataset: { scanner: s.id, state: s.state, live: String(!!s.live) },
      }));
      // name each counter cell for the tests
      for (const tr of t.tBodies[0].rows) {
        COUNTERS.forEach((c, i) => {
          tr.cells[6 + i].dataset.counter = c;
        });
      }
      holder.replaceChildren(t);
    }

    await load();
    const reload = debounce(() => load().catch((error) => ctx.failed(error, status)), 1000);
    return {
      onEvent(ev) {
        if (ev.type === "scanner.status") {
          const row = holder.querySelector(`tr[data-scanner="${CSS.escape(ev.scanner)}"]`);
          if (row) {
            row.dataset.state = ev.state;
            const cell = row.querySelector('[data-field="state"] span');
            if (cell) {
              cell.textContent = ev.state;
              cell.className = `state ${ev.state}`;
              cell.title = ev.detail || "";
            }
          }
          reload();
        } else if (ev.scanner) {
          reload();
        }
      },
      destroy: reload.cancel,
    };
  },
};
