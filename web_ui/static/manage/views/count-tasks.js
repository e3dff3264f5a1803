// Count tasks: cycle counts a manager opens (for locations, a zone or an ABC class of
// products, blind or not), that workers count, and that the manager confirms (lines
// within the threshold post at once) and approves (the lines held for a large variance).
//
// API: GET /count-tasks?status=, POST /count-tasks {"locations"|"zone"|"abc_class",
// "blind"}, POST /count-tasks/{id}/confirm, POST /count-tasks/{id}/approve. Live:
// count_task.* events reload the list.
//
// Testing hooks: form[data-form=open-task] with input[name=locations|zone],
// select[name=abc_class], input[name=blind], button[data-action=open-task];
// table[data-table=count-tasks], tr[data-task-id][data-status][data-blind] with
// td[data-field=locations|counted], button[data-action=lines|confirm|approve] (the lines
// of open and waiting tasks are shown at once, a closed task's on "Lines");
// table[data-table=count-lines][data-task-id], tr[data-location][data-sku][data-lot]
// [data-status] with td[data-field=expected|counted|variance]; a[data-filter].

import { debounce, empty, h, listFrame, loadList, num, postThenReload, statusFilter, when } from "/static/manage/ui.js";

const STATUSES = ["open", "pending_approval", "closed"];
const WORDS = { open: "open", pending_approval: "waiting for approval", closed: "closed" };

function scopeOf(task) {
  const scope = task.scope || {};
  if (scope.zone) return `zone ${scope.zone}`;
  if (scope.abc_class) return `class ${scope.abc_class} products`;
  return "locations";
}

function linesTable(task) {
  if (!task.lines.length) return empty(task.status === "open" ? "Nothing counted yet." : "No lines.");
  const body = h("tbody");
  for (const line of task.lines) {
    body.append(
      h(
        "tr",
        { dataset: { location: line.location, sku: line.sku, lot: line.lot, status: line.status } },
        h("td", null, line.location),
        h("td", null, line.sku),
        h("td", null, line.lot || "–"),
        h("td", { class: "num", dataset: { field: "expected" } }, num(line.expected)),
        h("td", { class: "num", dataset: { field: "counted" } }, num(line.counted)),
        h("td", { class: "num", dataset: { field: "variance" } }, line.variance > 0 ? `+${line.variance}` : num(line.variance)),
        h("td", null, line.status.replace("_", " ")),
      ),
    );
  }
  return h(
    "table",
    { dataset: { table: "count-lines", taskId: task.id } },
    h("thead", null, h("tr", null, ["Location", "SKU", "Lot", "Expected", "Counted", "Variance", "Line"].map((c, i) => h("th", { class: i >= 3 && i <= 5 ? "num" : null }, c)))),
    body,
  );
}

export const view = {
  id: "count-tasks",
  title: "Count tasks",
  async render(ctx) {
    const [status, filters] = statusFilter(ctx, "count-tasks", [...STATUSES, "all"], (s) => WORDS[s] || "all");
    const form = h(
      "form",
      { class: "filters", dataset: { form: "open-task" } },
      h("label", null, "Locations (codes, comma-separated)", h("input", { name: "locations", placeholder: "A-01, A-02", maxlength: 2000 })),
      h("label", null, "or a zone", h("input", { name: "zone", placeholder: "A", maxlength: 64 })),
      h(
        "label",
        null,
        "or an ABC class",
        h("select", { name: "abc_class" }, ["", "A", "B", "C"].map((c) => h("option", { value: c }, c || "–"))),
      ),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "blind" }), "blind (hide expected from workers)"),
      h("button", { type: "submit", dataset: { action: "open-task" } }, "Open a count task"),
    );
    const hint = "Open a cycle count; workers count its locations (count mode on a scanner, or the API); confirm to post the lines within the threshold, approve the ones held for a large variance.";
    const { status: note, holder } = listFrame(ctx, "Count tasks", hint, form, filters);

    function act(button, path, body) {
      note.replaceChildren();
      return postThenReload(ctx, button, note, path, body, load);
    }

    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const f = form.elements;
      const body = { blind: f.blind.checked };
      const codes = f.locations.value.split(/[\s,]+/).filter(Boolean);
      if (codes.length) body.locations = codes;
      if (f.zone.value.trim()) body.zone = f.zone.value.trim();
      if (f.abc_class.value) body.abc_class = f.abc_class.value;
      act(form.querySelector("button[data-action=open-task]"), "/count-tasks", body).then(() => {
        if (!note.childElementCount) form.reset();
      });
    });

    async function load() {
      const query = { limit: 200 };
      if (status !== "all") query.status = status;
      const none = status === "all" ? "No count tasks yet." : `No ${WORDS[status]} count tasks.`;
      const items = await loadList(ctx, holder, none, "/count-tasks", query, { max: 1000 });
      if (!items) return;
      const rows = h("tbody");
      const lineRows = new Map();
      for (const task of items) {
        const cell = h("td", { colspan: 7 });
        lineRows.set(task.id, h("tr", { class: "line" }, cell));
        const show = async () => {
          const full = await ctx.api.get(`/count-tasks/${task.id}`);
          if (ctx.live()) cell.replaceChildren(linesTable(full));
        };
        const toggle = h("button", { type: "button", dataset: { action: "lines" } }, "Lines");
        toggle.addEventListener("click", () => show().catch((error) => ctx.failed(error, note)));
        task.show = show;
        task.toggle = toggle;
      }
      // the lines of tasks that wait for a decision are shown at once
      await Promise.all(items.filter((t) => t.status !== "closed").map((t) => t.show()));
      if (!ctx.live()) return;
      for (const task of items) {
        const action =
          task.status === "open"
            ? h("button", { type: "button", dataset: { action: "confirm" } }, "Confirm")
            : task.status === "pending_approval"
              ? h("button", { type: "button", dataset: { action: "approve" } }, "Approve")
              : null;
        if (action) {
          const verb = action.dataset.action;
          action.addEventListener("click", () => act(action, `/count-tasks/${task.id}/${verb}`));
        }
        rows.append(
          h(
            "tr",
            { class: "first", dataset: { taskId: task.id, status: task.status, blind: String(task.blind) } },
            h("td", null, `#${task.id}`),
            h("td", null, WORDS[task.status] || task.status),
            h("td", null, scopeOf(task) + (task.blind ? " · blind" : "")),
            h("td", { dataset: { field: "locations" } }, task.locations.join(", ")),
            h("td", { dataset: { field: "counted" } }, `${task.counted_locations.length} of ${task.locations.length}`),
            h("td", null, `${task.created_by}, ${when(task.created_at)}`),
            h("td", null, task.toggle, " ", action),
          ),
          lineRows.get(task.id),
        );
      }
      holder.replaceChildren(
        h(
          "table",
          { dataset: { table: "count-tasks", rows: items.length } },
          h("thead", null, h("tr", null, ["Task", "Status", "Scope", "Locations", "Counted", "Opened", ""].map((c) => h("th", null, c)))),
          rows,
        ),
      );
    }

    await load();
    const reload = debounce(() => load().catch((error) => ctx.failed(error, note)), 500);
    return {
      onEvent(ev) {
        if (ev.type.startsWith("count_task.")) reload();
      },
      destroy: reload.cancel,
    };
  },
};
