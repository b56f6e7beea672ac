// The audit log view: who did what to this enterprise, newest first, filtered with the
// same phrase as GET /enterprises/{enterprise}/audit-log and paged with its Link header's
// cursors. dashboard.js shows it, with the context every view gets (api, json, signIn...).
import { SignedOut, el, row, table, when } from "./common.js";

let ctx = null;

const AUDIT_PER_PAGE = 20;
const auditState = { phrase: "", cursor: null, request: 0 };
// Shown first in an entry's details; the rest of its own fields follow in their order.
const AUDIT_COMMON = new Set([
  "@timestamp", "created_at", "_document_id", "action", "actor", "actor_kind", "token_id",
  "token_prefix", "hashed_token", "request_id", "business", "business_id",
]);

export async function renderAuditLog(main, context) {
  ctx = context;
  const summary = await ctx.json("/enterprise/licenses");
  ctx.showEnterprise(summary);
  const input = el("input", {
    type: "search", id: "audit-phrase", value: auditState.phrase, autocomplete: "off",
    spellcheck: "false", "aria-describedby": "audit-help",
    placeholder: "action:server_instance.connect actor:operator",
  });
  const form = el("form", {
    role: "search", "aria-label": "Filter the audit log",
    onsubmit: (event) => { event.preventDefault(); filterAudit(summary.enterprise, input.value); },
  },
  el("label", { for: "audit-phrase", class: "visually-hidden", text: "Filter" }),
  input,
  el("button", { type: "submit", class: "secondary", text: "Filter" }));
  main.replaceChildren(
    el("h1", { text: "Audit log" }),
    el("div", { class: "toolbar" }, form),
    el("p", { class: "muted", id: "audit-help",
      text: "action:NAME (or a category such as action:server_instance), actor:NAME, "
        + "created:>=2026-01-01, any field as name:value, or any text; -term excludes, OR joins." }),
    el("div", { id: "audit-results" }),
  );
  await loadAudit(summary.enterprise);
}

async function filterAudit(slug, phrase) {
  auditState.phrase = phrase.trim();
  auditState.cursor = null;
  await loadAudit(slug, "audit-count");
}

async function loadAudit(slug, focusId) {
  const request = ++auditState.request;
  const params = new URLSearchParams({ per_page: AUDIT_PER_PAGE });
  if (auditState.phrase) params.set("phrase", auditState.phrase);
  if (auditState.cursor) params.set(auditState.cursor.name, auditState.cursor.value);
  const path = `/enterprises/${encodeURIComponent(slug)}/audit-log?${params}`;
  let response;
  try {
    response = await ctx.api(path);
  } catch (error) {
    if (error instanceof SignedOut) return ctx.signIn(error.message);
    return showAuditProblem(request, error.message);
  }
  const entries = await response.json();
  const results = document.getElementById("audit-results");
  if (request !== auditState.request || !results) return; // a newer request has answered
  const links = pageCursors(response.headers.get("Link"));
  const columns = ["When", "Action", "Actor", "Details"];
  const rows = entries.map((entry) => row(columns, [
    el("time", { datetime: new Date(entry["@timestamp"]).toISOString(), text: when(entry["@timestamp"]) }),
    el("code", { text: entry.action }),
    actorOf(entry),
    detailsOf(entry),
  ], [false, false, false, false]));
  results.replaceChildren(
    el("p", { id: "audit-count", tabindex: "-1", "aria-live": "polite",
      text: entries.length
        ? `${entries.length} entr${entries.length === 1 ? "y" : "ies"} shown${auditState.phrase ? ` for “${auditState.phrase}”` : ""}, newest first`
        : `No entry${auditState.phrase ? ` matches “${auditState.phrase}”` : " yet"}` }),
    rows.length ? table(columns, rows, "audit-entries", [false, false, false, false]) : null,
    el("div", { class: "pager" },
      pageButton("audit-newer", "Newer", links.prev, slug),
      pageButton("audit-older", "Older", links.next, slug)),
  );
  if (focusId) document.getElementById(focusId).focus();
}

function showAuditProblem(request, message) {
  const results = document.getElementById("audit-results");
  if (request !== auditState.request || !results) return;
  results.replaceChildren(el("p", { class: "error", role: "alert", id: "audit-error", text: message }));
}

function pageButton(id, label, cursor, slug) {
  return el("button", {
    type: "button", class: "secondary", id, text: label, disabled: !cursor,
    onclick: async () => { auditState.cursor = cursor; await loadAudit(slug, "audit-count"); },
  });
}

// The after/before cursor of each page the Link header names (RFC 8288, as GitHub sends it).
function pageCursors(header) {
  const cursors = {};
  for (const part of (header || "").split(",")) {
    const match = part.match(/<([^>]+)>\s*;\s*rel="([^"]+)"/);
    if (!match) continue;
    const query = new URL(match[1], location.origin).searchParams;
    for (const name of ["after", "before"]) {
      if (query.get(name)) cursors[match[2]] = { name, value: query.get(name) };
    }
  }
  return cursors;
}

function actorOf(entry) {
  const token = entry.token_prefix ? ` (${entry.token_prefix}…)` : "";
  return el("span", {}, el("strong", { text: entry.actor }), token,
    el("br"), el("small", { class: "muted", text: entry.actor_kind.replace("_", " ") }));
}

function detailsOf(entry) {
  const items = Object.entries(entry)
    .filter(([key, value]) => !AUDIT_COMMON.has(key) && value !== null && value !== undefined)
    .map(([key, value]) => el("li", {}, el("span", { class: "muted", text: `${key}: ` }), describe(value)));
  items.push(el("li", {}, el("span", { class: "muted", text: "request: " }), entry.request_id));
  return el("ul", { class: "details" }, items);
}

function describe(value) {
  if (value && typeof value === "object" && "from" in value && "to" in value) {
    return `${value.from} → ${value.to}`;
  }
  if (value && typeof value === "object") {
    return Object.entries(value).map(([key, inner]) => `${key} ${describe(inner)}`).join("; ");
  }
  return String(value);
}

