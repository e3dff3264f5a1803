// stockd API reference page (docs.html): renders /api/v1/openapi.json. Served from
// here, not inline: the Content-Security-Policy allows no inline script.
"use strict";
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
let doc;

function refName(ref) { return ref.split("/").pop(); }

function typeOf(schema) {
  if (!schema) return "";
  if (schema.$ref) return `<a href="#schema-${esc(refName(schema.$ref))}">${esc(refName(schema.$ref))}</a>`;
  if (schema.anyOf) return schema.anyOf.map(typeOf).join(" | ");
  if (schema.oneOf) return schema.oneOf.map(typeOf).join(" | ");
  if (schema.enum) return schema.enum.map((v) => `<code>${esc(JSON.stringify(v))}</code>`).join(" | ");
  if (schema.const !== undefined) return `<code>${esc(JSON.stringify(schema.const))}</code>`;
  if (schema.type === "array") return `${typeOf(schema.items)}[]`;
  if (schema.type === "object" && schema.additionalProperties && typeof schema.additionalProperties === "object")
    return `{string: ${typeOf(schema.additionalProperties)}}`;
  let t = esc(schema.type || "any");
  if (schema.format) t += ` <span class="muted">(${esc(schema.format)})</span>`;
  return t;
}

function constraints(schema) {
  const parts = [];
  for (const k of ["minimum", "maximum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "default"]) {
    if (schema && schema[k] !== undefined) parts.push(`${k}: <code>${esc(JSON.stringify(schema[k]))}</code>`);
  }
  return parts.join(", ");
}

function schemaTable(schema) {
  if (!schema || !schema.properties) return "";
  const required = new Set(schema.required || []);
  const rows = Object.entries(schema.properties).map(([name, prop]) =>
    `<tr><td><code>${esc(name)}</code>${required.has(name) ? "" : ' <span class="muted">optional</span>'}</td>` +
    `<td>${typeOf(prop)}</td><td>${esc(prop.description || "")} <span class="muted">${constraints(prop)}</span></td></tr>`);
  return `<table><tr><th>field</th><th>type</th><th>notes</th></tr>${rows.join("")}</table>`;
}

function operation(path, method, op) {
  const params = (op.parameters || []).map((p) =>
    `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${typeOf(p.schema)}${p.required ? "" : ' <span class="muted">optional</span>'}</td>` +
    `<td>${esc(p.description || "")} <span class="muted">${constraints(p.schema)}</span></td></tr>`).join("");
  const body = op.requestBody ? Object.entries(op.requestBody.content).map(([type, c]) =>
    `<p>Body (<code>${esc(type)}</code>): ${typeOf(c.schema)}</p>`).join("") : "";
  const responses = Object.entries(op.responses).map(([status, r]) => {
    const content = Object.entries(r.content || {}).map(([type, c]) => `<code>${esc(type)}</code> ${typeOf(c.schema)}`).join("<br>");
    return `<tr><td class="status">${esc(status)}</td><td>${esc(r.description)}</td><td>${content}</td></tr>`;
  }).join("");
  const id = `op-${op.operationId}`;
  return `<section class="op" id="${esc(id)}">
    <div class="sig"><span class="m ${esc(method.toUpperCase())}">${esc(method.toUpperCase())}</span>${esc(path)}
      <span class="role">role: ${esc(op["x-role"] || "none")}</span></div>
    <p><strong>${esc(op.summary)}</strong><br><span class="muted">${esc((op.description || "").replace(/\*\*/g, ""))}</span></p>
    ${params ? `<table><tr><th>parameter</th><th>in</th><th>type</th><th>notes</th></tr>${params}</table>` : ""}
    ${body}
    <table><tr><th>status</th><th>meaning</th><th>content</th></tr>${responses}</table>
  </section>`;
}

function render() {
  document.getElementById("title").textContent = `${doc.info.title} (v${doc.info.version})`;
  document.getElementById("intro").innerHTML = esc(doc.info.description).replace(/`([^`]+)`/g, "<code>$1</code>") +
    ` · <a href="openapi.json">openapi.json</a>`;
  const byTag = new Map();
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = (op.tags || ["other"])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push([path, method, op]);
    }
  }
  let nav = "", content = "";
  for (const [tag, ops] of byTag) {
    nav += `<h3>${esc(tag)}</h3>` + ops.map(([path, method, op]) =>
      `<a href="#op-${esc(op.operationId)}">${esc(method.toUpperCase())} ${esc(path)}</a>`).join("");
    content += `<h2 class="tag">${esc(tag)}</h2>` + ops.map(([p, m, o]) => operation(p, m, o)).join("");
  }
  nav += "<h3>schemas</h3>";
  content += `<h2 class="tag">schemas</h2>`;
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    nav += `<a href="#schema-${esc(name)}">${esc(name)}</a>`;
    const shape = schema.properties ? schemaTable(schema) : `<p>${typeOf(schema)}</p>`;
    content += `<section class="op" id="schema-${esc(name)}"><div class="sig">${esc(name)}</div>
      <p class="muted">${esc(schema.description || "")}</p>${shape}</section>`;
  }
  nav += "<h3>problem types</h3>";
  content += `<h2 class="tag">problem types</h2><section class="op"><table><tr><th>type</th><th>status</th><th>title</th></tr>`;
  for (const [name, p] of Object.entries(doc["x-problem-types"] || {})) {
    content += `<tr><td><a href="/problems/${esc(name)}"><code>/problems/${esc(name)}</code></a></td><td>${esc(p.status)}</td><td>${esc(p.title)}</td></tr>`;
  }
  content += "</table></section>";
  document.getElementById("nav").innerHTML = nav;
  document.getElementById("content").innerHTML = content;
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
}

fetch("openapi.json").then((r) => {
  if (!r.ok) throw new Error(`openapi.json answered ${r.status}`);
  return r.json();
}).then((d) => { doc = d; render(); }).catch((e) => {
  document.getElementById("content").innerHTML = `<p id="error">Could not load the API description: ${esc(e.message)}</p>`;
});
