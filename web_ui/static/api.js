// stockd HTTP API client, shared by the pages (floor, manage, scan).
//
// One small wrapper over fetch: every request carries `Authorization: Bearer <token>`,
// every failure is one error type, ApiError, and lists are read page by page through
// their cursors (`{"items": [...], "next_cursor": <string or null>}`, SPEC "Pinned
// shapes").
//
//   import { Api, ApiError } from "/static/api.js";
//   const api = new Api(token);
//   const stock = await api.get("/stock/WIDGET");
//   for await (const alert of api.items("/alerts", { state: "all" })) { ... }
//   const all = await api.all("/backorders", { limit: 1000 }, { max: 5000 });
//   await api.post("/alerts/7/acknowledge");
//   const csv = await api.text("/movements.csv", { sku: "WIDGET" });
//
// Errors: an answer that is not 2xx becomes an ApiError with the HTTP status and, from
// an application/problem+json body (RFC 9457), its `type`, `title` and `detail`; a
// network failure (server away, connection refused) is an ApiError with status 0 and
// type "network". `error.unauthorized` is true for 401 (the token is unknown, revoked or
// expired: ask for another), `error.forbidden` for 403 (this token's role may not).
//
// Paths are relative to /api/v1 unless they start with "/api/", "/healthz" or
// "/metrics". Query values that are null or undefined are left out; an array value
// repeats its key (`sku=A&sku=B`). Writes send JSON and may carry an Idempotency-Key
// (`{ idempotencyKey }`); api.key() makes a fresh one.

export const API_ROOT = "/api/v1";

export class ApiError extends Error {
  constructor(status, { type = "about:blank", title = "", detail = "", problem = null } = {}) {
    super(detail || title || (status ? `HTTP ${status}` : "network error"));
    this.name = "ApiError";
    this.status = status;
    this.type = type;
    this.title = title;
    this.detail = detail;
    this.problem = problem; // the whole problem+json body, when there was one
  }

  get unauthorized() {
    return this.status === 401;
  }

  get forbidden() {
    return this.status === 403;
  }

  // the last part of the problem type: "insufficient-stock", "not-found", …
  get code() {
    return String(this.type).split("/").pop();
  }
}

export function url(path, query) {
  const base = /^\/(api\/|healthz|metrics)/.test(path) ? path : `${API_ROOT}${path}`;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value === null || value === undefined || value === "") continue;
    if (Array.isArray(value)) for (const v of value) params.append(key, String(v));
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `${base}?${text}` : base;
}

async function failure(response) {
  const type = response.headers.get("Content-Type") || "";
  let body = null;
  try {
    body = type.includes("json") ? await response.json() : await response.text();
  } catch {
    body = null;
  }
  if (body && typeof body === "object") {
    return new ApiError(response.status, {
      type: body.type || "about:blank",
      title: body.title || response.statusText,
      detail: body.detail || "",
      problem: body,
    });
  }
  return new ApiError(response.status, {
    title: response.statusText,
    detail: typeof body === "string" ? body.slice(0, 200) : "",
  });
}

export class Api {
  constructor(token) {
    this.token = token;
  }

  key() {
    if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
    return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  }

  async fetch(method, path, { query, body, idempotencyKey, accept } = {}) {
    const headers = { Accept: accept || "application/json" };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
    let response;
    try {
      response = await fetch(url(path, query), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
      });
    } catch (error) {
      throw new ApiError(0, { type: "network", title: "network error", detail: error.message });
    }
    if (!response.ok) throw await failure(response);
    return response;
  }

  async request(method, path, options = {}) {
    const response = await this.fetch(method, path, options);
    if (response.status === 204) return null;
    return response.json();
  }

  get(path, query) {
    return this.request("GET", path, { query });
  }

  post(path, body, options = {}) {
    return this.request("POST", path, { ...options, body: body === undefined ? {} : body });
  }

  patch(path, body, options = {}) {
    return this.request("PATCH", path, { ...options, body });
  }

  delete(path, options = {}) {
    return this.request("DELETE", path, options);
  }

  // a text answer (CSV); `accept` says which
  async text(path, query, accept = "text/csv") {
    const response = await this.fetch("GET", path, { query, accept });
    return response.text();
  }

  // one page: {items, next_cursor}
  page(path, query, cursor = null) {
    return this.get(path, { ...query, cursor });
  }

  // every item of a list, page after page
  async *items(path, query) {
    let cursor = null;
    do {
      const page = await this.page(path, query, cursor);
      for (const item of page.items || []) yield item;
      cursor = page.next_cursor || null;
    } while (cursor);
  }

  // the items of a list as an array, stopping after `max` (the array says `truncated`)
  async all(path, query, { max = Infinity } = {}) {
    const found = [];
    found.truncated = false;
    for await (const item of this.items(path, query)) {
      if (found.length >= max) {
        found.truncated = true;
        break;
      }
      found.push(item);
    }
    return found;
  }
}
