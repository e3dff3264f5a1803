// Spool exceptions: scans taken while the database was away that failed when replayed
// (stock ran out meanwhile, …). A manager looks, acts, and resolves each with a note.
//
// API: GET /spool-exceptions?state=open|all, POST /spool-exceptions/{id}/resolve
// {"resolution"}.
//
// Testing hooks: table[data-table=exceptions], tr[data-exception-id][data-resolved]
// [data-scanner], input[name=resolution], button[data-action=resolve].

import { h, listFrame, loadList, postThenReload, stateFilter, table, when } from "/static/manage/ui.js";

// the spooled scan, in words: {"type": "Pick", "command": {"product": {"sku"}, ...}}
function describe(spooled) {
  if (!spooled || typeof spooled !== "object") return "";
  const body = spooled.command || {};
  const product = body.product ? body.product.sku || body.product.barcode : null;
  const lines = Array.isArray(body.lines) ? `${body.lines.length} lines` : null;
  const parts = [
    String(spooled.type || "").toLowerCase(),
    body.quantity,
    product || lines,
    body.location && `at ${body.location}`,
    body.to_location && `to ${body.to_location}`,
    body.lot && `lot ${body.lot}`,
  ];
  return parts.filter((p) => p !== undefined && p !== null && p !== "").join(" ");
}

export const view = {
  id: "exceptions",
  title: "Spool exceptions",
  async render(ctx) {
    const [state, filter] = stateFilter(ctx, "exceptions", ["open", "Open"], "All, resolved too");
    const hint = "Scans a gateway spooled while PostgreSQL was away and that failed on replay.";
    const { status, holder } = listFrame(ctx, "Spool exceptions", hint, filter);

    async function resolve(item, form) {
      const note = form.elements.resolution.value.trim();
      if (!note) {
        form.elements.resolution.focus();
        return;
      }
      await postThenReload(ctx, form.elements.resolve, status, `/spool-exceptions/${item.id}/resolve`, { resolution: note }, load);
    }

    async function load() {
      const none = state === "open" ? "No open exceptions." : "No exceptions yet.";
      const items = await loadList(ctx, holder, none, "/spool-exceptions", { state, limit: 500 }, { max: 2000 });
      if (!items) return;
      const columns = [
        { key: "created_at", label: "Failed", cell: (x) => when(x.created_at) },
        { key: "scanner", label: "Scanner", cell: (x) => x.scanner || "–" },
        { key: "command", label: "Scan", cell: (x) => describe(x.command) },
        { key: "reason", label: "Reason" },
        { key: "spooled_at", label: "Spooled", cell: (x) => when(x.spooled_at) },
        {
          key: "resolution",
          label: "Resolution",
          cell: (x) => {
            if (x.resolved) return `${x.resolution || ""} (${x.resolved_by || "?"}, ${when(x.resolved_at)})`;
            const form = h(
              "form",
              { class: "inline" },
              h("input", { name: "resolution", placeholder: "what was done (e.g. recounted)", maxlength: 200 }),
              h("button", { type: "submit", name: "resolve", dataset: { action: "resolve" } }, "Resolve"),
            );
            form.addEventListener("submit", (e) => {
              e.preventDefault();
              resolve(x, form);
            });
            return form;
          },
        },
      ];
      holder.replaceChildren(
        table("exceptions", columns, items, (x) => ({
          dataset: { exceptionId: x.id, resolved: String(x.resolved), scanner: x.scanner || "" },
        })),
      );
    }

    await load();
    return {};
  },
};
