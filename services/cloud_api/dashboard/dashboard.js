// The owner's dashboard: plain DOM, no framework, no request but to this service.
//
// The owner token lives in this tab's sessionStorage and travels only in the Authorization
// header: never in a URL, a cookie or a form submission (the input has no name, and the
// page's Content-Security-Policy forbids form actions). Every value shown is set with
// textContent, never parsed as HTML.
"use strict";

const TOKEN_KEY = "license-sync.owner-token";
const PER_PAGE = 25;
const SVG = "http://www.w3.org/2000/svg";
const RULES = {
  cloud_only: "Cloud account only",
  saml_identity: "Merged: the linked SAML/SCIM identity equals the GHES primary e-mail",
  verified_email: "Merged: a verified cloud e-mail equals the GHES primary e-mail",
  same_primary_email: "Merged: GHES accounts on several instances share the primary e-mail",
  server_only: "GHES account only: no cloud account matched",
};

const persons = { q: "", page: 1, request: 0 };
let searchTimer = null;

class SignedOut extends Error {}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttributes(node, attrs);
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  setAttributes(node, attrs);
  node.append(...children);
  return node;
}

function setAttributes(node, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
}

// --- talking to the API -------------------------------------------------------------------

async function api(path) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) throw new SignedOut("");
  const response = await fetch(path, {
    headers: { Authorization: `Bearer ${token}` },
    cache: "no-store",
    credentials: "omit",
  });
  if (response.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    throw new SignedOut("The token was not accepted: use an enterprise owner token (lso_…).");
  }
  if (!response.ok) throw new Error(await problem(path, response));
  return response;
}

async function problem(path, response) {
  try {
    const body = await response.json();
    return `${path} answered ${response.status}: ${body.detail || body.error}`;
  } catch {
    return `${path} answered ${response.status}`;
  }
}

async function json(path) {
  return (await api(path)).json();
}

// --- formatting ---------------------------------------------------------------------------

const numbers = new Intl.NumberFormat();
const dates = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const days = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const DAY_MS = 86_400_000;

// Days along a long history; the time of day when every report came within two days.
function axisLabel(time, span) {
  return span < 2 * DAY_MS ? dates.format(new Date(time)) : days.format(new Date(time));
}

function count(value) {
  return numbers.format(value);
}

function when(iso) {
  return iso ? dates.format(new Date(iso)) : "—";
}

// Within 10% of the purchased seats, or over them (integer arithmetic: no rounding).
function seatWarning(consumed, purchased) {
  if (consumed > purchased) {
    return {
      level: "over",
      text: `Consumed licenses exceed the ${count(purchased)} purchased seats by ${count(consumed - purchased)}.`,
    };
  }
  if (consumed * 10 >= purchased * 9) {
    return {
      level: "near",
      text: `Consumed licenses are within 10% of the ${count(purchased)} purchased seats: ${count(purchased - consumed)} left.`,
    };
  }
  return null;
}

// --- views --------------------------------------------------------------------------------

const VIEWS = { overview: renderOverview, instances: renderInstances, persons: renderPersons };

function currentView() {
  const name = location.hash.replace(/^#\/?/, "");
  return Object.hasOwn(VIEWS, name) ? name : "overview";
}

async function render() {
  const main = document.getElementById("main");
  if (!sessionStorage.getItem(TOKEN_KEY)) return renderSignIn("");
  const view = currentView();
  document.getElementById("nav").hidden = false;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  main.setAttribute("aria-busy", "true");
  delete main.dataset.view;
  try {
    await VIEWS[view](main);
    main.dataset.view = view; // what is on screen, complete (tests and scripts wait for it)
  } catch (error) {
    if (error instanceof SignedOut) return renderSignIn(error.message);
    main.replaceChildren(el("p", { class: "error", role: "alert", text: error.message }));
  } finally {
    main.removeAttribute("aria-busy");
  }
}

function renderSignIn(message) {
  document.getElementById("nav").hidden = true;
  document.getElementById("enterprise-name").textContent = "";
  const input = el("input", {
    type: "password", id: "token", autocomplete: "off", required: true, spellcheck: "false",
  });
  const form = el(
    "form",
    { onsubmit: (event) => signIn(event, input) },
    el("label", { for: "token", text: "Enterprise owner token" }),
    input,
    el("button", { type: "submit", class: "primary", text: "Sign in" }),
    message ? el("p", { class: "error", role: "alert", id: "sign-in-error", text: message }) : null,
  );
  document.getElementById("main").replaceChildren(
    el("section", { class: "signin" },
      el("h1", { text: "Sign in" }),
      el("p", { class: "muted", text: "The token stays in this browser tab and is sent only to this service." }),
      form),
  );
  input.focus();
}

async function signIn(event, input) {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, input.value.trim());
  input.value = "";
  await render();
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  persons.q = "";
  persons.page = 1;
  renderSignIn("");
}

function showEnterprise(summary) {
  document.getElementById("enterprise-name").textContent = summary.name;
}

async function renderOverview(main) {
  const [summary, history] = await Promise.all([
    json("/enterprise/licenses"),
    json("/enterprise/licenses/history"),
  ]);
  showEnterprise(summary);
  const consumed = summary.total_seats_consumed;
  const purchased = summary.total_seats_purchased;
  const warning = seatWarning(consumed, purchased);
  const share = purchased > 0 ? Math.min(100, (consumed / purchased) * 100) : 100;
  const meter = el("div", { class: `meter ${warning ? warning.level : ""}` }, el("span"));
  meter.firstChild.style.width = `${share}%`;
  main.replaceChildren(
    el("h1", { text: "Licenses" }),
    warning ? el("p", { class: `notice ${warning.level}`, role: "alert", id: "seat-warning", text: warning.text }) : null,
    el("div", { class: "cards" },
      el("div", { class: "card main" },
        el("div", { class: "label", text: "Consumed licenses" }),
        el("div", { class: "value" },
          el("span", { "data-figure": "consumed", text: count(consumed) }),
          el("span", { class: "muted", text: " of " }),
          el("span", { "data-figure": "purchased", text: count(purchased) })),
        meter),
      figureCard("Cloud only", "cloud_only", summary.breakdown.cloud_only),
      figureCard("Server only", "server_only", summary.breakdown.server_only),
      figureCard("Both", "both", summary.breakdown.both)),
    el("h2", { text: "Consumed over time" }),
    historyChart(history.entries, purchased),
    el("p", { class: "muted", text: `Computed ${when(summary.computed_at)} from ${summary.server_instances.length} server instance(s).` }),
  );
}

function figureCard(label, key, value) {
  return el("div", { class: "card" },
    el("div", { class: "label", text: label }),
    el("div", { class: "value", "data-figure": key, text: count(value) }));
}

// A line of the figure after each applied report, against the seats purchased today.
function historyChart(entries, purchased) {
  const points = entries.filter((entry) => entry.total_seats_consumed !== null);
  if (points.length === 0) {
    return el("p", { class: "muted chart-empty", text: "No report has been applied yet." });
  }
  // Drawn at the width it is shown at, so that its labels stay legible on a phone.
  const width = Math.round(Math.min(1100, Math.max(280, document.getElementById("main").clientWidth - 18)));
  const height = width < 560 ? 200 : 260, left = 44, right = 12, top = 12, bottom = 28;
  const times = points.map((p) => Date.parse(p.received_at));
  const first = Math.min(...times), last = Math.max(...times);
  const ceiling = Math.max(purchased, ...points.map((p) => p.total_seats_consumed), 1) * 1.1;
  const x = (t) => (last === first ? (left + width - right) / 2 : left + ((t - first) / (last - first)) * (width - left - right));
  const y = (v) => top + (1 - v / ceiling) * (height - top - bottom);
  const line = points.map((p, i) => `${x(times[i]).toFixed(1)},${y(p.total_seats_consumed).toFixed(1)}`);
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`, role: "img",
    "aria-label": `Consumed licenses after each of ${points.length} reports`,
  },
  svg("line", { class: "axis", x1: left, x2: width - right, y1: y(0), y2: y(0) }),
  svg("line", { class: "purchased", x1: left, x2: width - right, y1: y(purchased), y2: y(purchased) }),
  svg("text", { x: left - 6, y: y(0) + 4, "text-anchor": "end" }, "0"),
  svg("text", { x: left - 6, y: y(purchased) + 4, "text-anchor": "end" }, count(purchased)),
  svg("text", { x: left, y: height - 8 }, axisLabel(first, last - first)),
  svg("text", { x: width - right, y: height - 8, "text-anchor": "end" }, axisLabel(last, last - first)),
  svg("polyline", { class: "consumed", points: line.join(" ") }),
  ...points.map((p, i) => svg("circle", {
    class: "point", r: 4, cx: x(times[i]), cy: y(p.total_seats_consumed),
    "data-consumed": p.total_seats_consumed,
  }, svg("title", {}, `${when(p.received_at)}: ${count(p.total_seats_consumed)} consumed after ${p.hostname} report ${p.sequence}`))));
  return el("figure", { class: "chart", id: "history-chart" },
    chart,
    el("figcaption", { class: "legend" },
      el("span", {}, el("span", { class: "swatch consumed" }), "consumed"),
      el("span", {}, el("span", { class: "swatch purchased" }), "purchased")));
}

async function renderInstances(main) {
  const summary = await json("/enterprise/licenses");
  showEnterprise(summary);
  const columns = ["Hostname", "Last sync", "Status", "Source", "Accounts reported", "Persons only here"];
  const rows = summary.server_instances.map((instance) => {
    const sync = instance.last_sync;
    const ok = sync && sync.status === "success";
    const status = sync
      ? el("span", { class: `badge ${ok ? "ok" : "bad"}`, title: sync.error || null, text: ok ? "success" : sync.status })
      : el("span", { class: "muted", text: "never synced" });
    return row(columns, [
      el("span", {}, el("strong", { text: instance.hostname }), el("br"), el("small", { class: "muted", text: instance.server_id || "not bound yet" })),
      when(sync && sync.date),
      status,
      sourceLabel(instance),
      count(instance.accounts_reported),
      count(instance.persons_only_here),
    ], [false, false, false, false, true, true]);
  });
  main.replaceChildren(
    el("h1", { text: "Server instances" }),
    rows.length
      ? table(columns, rows, "instances", [false, false, false, false, true, true])
      : el("p", { class: "muted", text: "No GHES instance is connected yet." }),
    el("p", { class: "muted", text: "Persons only here: how far the figure would drop without the instance." }),
  );
}

function sourceLabel(instance) {
  if (instance.source === "connect") return "synced";
  if (instance.source === "upload") return "uploaded";
  return instance.upload_only ? "upload only, nothing uploaded yet" : "—";
}

function table(columns, rows, id, numeric) {
  return el("table", { id },
    el("thead", {}, el("tr", {}, columns.map((c, i) => el("th", { scope: "col", class: numeric[i] ? "num" : null, text: c })))),
    el("tbody", {}, rows));
}

function row(columns, cells, numeric) {
  return el("tr", {}, cells.map((cell, i) =>
    el("td", { "data-label": columns[i], class: numeric[i] ? "num" : null }, cell)));
}

async function renderPersons(main) {
  const summary = await json("/enterprise/licenses");
  showEnterprise(summary);
  const search = el("input", {
    type: "search", id: "person-search", value: persons.q, placeholder: "login, e-mail or user ID",
    "aria-label": "Search persons", autocomplete: "off",
    oninput: () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => findPersons(search.value), 250);
    },
  });
  const download = el("button", { type: "button", class: "secondary", id: "download-csv", text: "Download CSV" });
  download.addEventListener("click", () => downloadCsv(summary.enterprise, download));
  main.replaceChildren(
    el("h1", { text: "Persons" }),
    el("div", { class: "toolbar" },
      el("form", { role: "search", onsubmit: (event) => { event.preventDefault(); findPersons(search.value); } }, search),
      download),
    el("div", { id: "persons-results" }),
  );
  await loadPersons();
}

async function findPersons(text) {
  clearTimeout(searchTimer);
  persons.q = text.trim();
  persons.page = 1;
  await loadPersons();
}

async function loadPersons() {
  const request = ++persons.request;
  const params = new URLSearchParams({ include: "users", page: persons.page, per_page: PER_PAGE });
  if (persons.q) params.set("q", persons.q);
  let view;
  try {
    view = await json(`/enterprise/licenses?${params}`);
  } catch (error) {
    if (error instanceof SignedOut) return renderSignIn(error.message);
    throw error;
  }
  const results = document.getElementById("persons-results");
  if (request !== persons.request || !results) return; // a newer search has answered
  const pages = Math.max(1, Math.ceil(view.total_persons / PER_PAGE));
  const columns = ["Person", "Accounts", "Why one person"];
  const rows = view.users.map((person) => row(columns, [
    personName(person), accountList(person), mergeReason(person),
  ], [false, false, false]));
  results.replaceChildren(
    el("p", { class: "muted", id: "persons-count", "aria-live": "polite",
      text: `${count(view.total_persons)} ${persons.q ? `person(s) match “${persons.q}”` : "persons consume a license"}` }),
    rows.length ? table(columns, rows, "persons", [false, false, false]) : null,
    el("div", { class: "pager" },
      el("button", { type: "button", class: "secondary", id: "previous-page", text: "Previous", disabled: persons.page <= 1,
        onclick: () => turnPage(-1) }),
      el("span", { id: "page-label", text: `Page ${persons.page} of ${pages}` }),
      el("button", { type: "button", class: "secondary", id: "next-page", text: "Next", disabled: persons.page >= pages,
        onclick: () => turnPage(1) })),
  );
}

async function turnPage(step) {
  persons.page += step;
  await loadPersons();
}

function personName(person) {
  if (person.cloud_account) return el("strong", { text: person.cloud_account.login });
  const first = person.server_accounts[0];
  return el("strong", { text: first.email || `GHES user ${first.user_id}` });
}

function accountList(person) {
  const items = [];
  if (person.cloud_account) {
    const cloud = person.cloud_account;
    items.push(el("li", { text: `cloud ${cloud.login} (#${cloud.id})${cloud.consuming ? "" : ", no license by itself"}` }));
  }
  for (const account of person.server_accounts) {
    items.push(el("li", { text: `${account.hostname} user ${account.user_id}${account.email ? ` · ${account.email}` : " · no e-mail"}` }));
  }
  return el("ul", { class: "accounts" }, items);
}

function mergeReason(person) {
  const reason = RULES[person.match_rule] || person.match_rule;
  const detail = person.matched_attribute ? ` (${person.matched_attribute})` : "";
  return el("span", {},
    `${reason}${detail}`,
    person.ambiguous
      ? el("span", { class: "badge bad", text: ` several cloud accounts matched (${person.candidate_cloud_account_ids.join(", ")}); the lowest ID was chosen` })
      : null);
}

async function downloadCsv(slug, button) {
  button.disabled = true;
  button.textContent = "Preparing…";
  try {
    const response = await api(`/enterprises/${encodeURIComponent(slug)}/consumed-licenses.csv`);
    const blob = await response.blob();
    const disposition = response.headers.get("Content-Disposition") || "";
    const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || `${slug}-consumed-licenses.csv`;
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (error) {
    if (error instanceof SignedOut) return renderSignIn(error.message);
    button.after(el("span", { class: "error", role: "alert", text: error.message }));
  } finally {
    button.disabled = false;
    button.textContent = "Download CSV";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("sign-out").addEventListener("click", signOut);
  window.addEventListener("hashchange", render);
  render();
});
