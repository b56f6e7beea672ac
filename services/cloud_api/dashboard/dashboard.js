// The owner's dashboard: plain DOM, no framework, no request but to this service. The
// token handling, elements and dialogs are common.js's (the agent's page shares them); each
// view beyond the overview and persons is its own module.
//
// The owner token lives in this tab's sessionStorage and travels only in the Authorization
// header: never in a URL, a cookie or a form submission. Every value shown is set with
// textContent, never parsed as HTML.
import {
  SignedOut, apiClient, count, dates, downloadBlob, el, filenameOf, renderSignIn as signInForm,
  row, svg, table, tokenStore, when,
} from "./common.js";
import { renderAuditLog } from "./audit.js";
import { renderInstances } from "./instances.js";

const PER_PAGE = 25;
const RULES = {
  cloud_only: "Cloud account only",
  saml_identity: "Merged: the linked SAML/SCIM identity equals the GHES primary e-mail",
  verified_email: "Merged: a verified cloud e-mail equals the GHES primary e-mail",
  same_primary_email: "Merged: GHES accounts on several instances share the primary e-mail",
  server_only: "GHES account only: no cloud account matched",
};

const token = tokenStore("license-sync.owner-token");
const { api, json } = apiClient(token, "The token was not accepted: use an enterprise owner token (lso_…).");
const persons = { q: "", page: 1, request: 0 };
let searchTimer = null;

// --- formatting ---------------------------------------------------------------------------

const days = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const DAY_MS = 86_400_000;

// Days along a long history; the time of day when every report came within two days.
function axisLabel(time, span) {
  return span < 2 * DAY_MS ? dates.format(new Date(time)) : days.format(new Date(time));
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

const VIEWS = {
  overview: renderOverview, instances: renderInstances, persons: renderPersons, audit: renderAuditLog,
};

function currentView() {
  const name = location.hash.replace(/^#\/?/, "");
  return Object.hasOwn(VIEWS, name) ? name : "overview";
}

async function render() {
  const main = document.getElementById("main");
  if (!token.get()) return renderSignIn("");
  const view = currentView();
  document.getElementById("nav").hidden = false;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  main.setAttribute("aria-busy", "true");
  delete main.dataset.view;
  try {
    await VIEWS[view](main, { api, json, token, showEnterprise, render, signIn: renderSignIn });
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
  signInForm(document.getElementById("main"), {
    label: "Enterprise owner token",
    note: "The token stays in this browser tab and is sent only to this service.",
    message,
    onToken: (value) => {
      token.set(value);
      render();
    },
  });
}

function signOut() {
  token.clear();
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
    downloadBlob(await response.blob(), filenameOf(response, `${slug}-consumed-licenses.csv`));
  } catch (error) {
    if (error instanceof SignedOut) return renderSignIn(error.message);
    button.after(el("span", { class: "error", role: "alert", text: error.message }));
  } finally {
    button.disabled = false;
    button.textContent = "Download CSV";
  }
}

// A module runs after the document is parsed.
document.getElementById("sign-out").addEventListener("click", signOut);
window.addEventListener("hashchange", render);
render();
