// The owner's dashboard: plain DOM, no framework, no request but to this service. The
// token handling, elements and dialogs are common.js's (the agent's page shares them); each
// view beyond the overview and persons is its own module.
//
// An owner signs in through the company's identity provider (a session cookie the script
// never sees, and a CSRF token it sends back) or with an owner token, which lives in this
// tab's sessionStorage and travels only in the Authorization header: never in a URL, a
// cookie or a form submission (session.js). Every value shown is set with textContent,
// never parsed as HTML.
import {
  SignedOut, apiClient, count, dates, downloadBlob, el, filenameOf, renderSignIn as signInForm,
  row, svg, table, when,
} from "./common.js";
import { renderAuditLog } from "./audit.js";
import { renderInstances } from "./instances.js";
import { linksSection } from "./links.js";
import { subscribersSection } from "./subscribers.js";
import { ownerCredentials } from "./session.js";

const PER_PAGE = 25;
const RULES = {
  cloud_only: "Cloud account only",
  saml_identity: "Merged: the linked SAML/SCIM identity equals the GHES primary e-mail",
  verified_email: "Merged: a verified cloud e-mail equals the GHES primary e-mail",
  same_primary_email: "Merged: GHES accounts on several instances share the primary e-mail",
  server_only: "GHES account only: no cloud account matched",
  identity_link: "Joined by an owner's identity link",
  kept_separate: "Kept separate by an owner's identity link",
};

const token = ownerCredentials();
const ENTERPRISE_KEY = "license-sync.enterprise";
let sessionLoaded = false;
const { api, json } = apiClient(token, "The token was not accepted: use an enterprise owner token (lso_…).");
const REASONS = {
  server_account_added: "GHES account added",
  server_account_removed: "GHES account removed (or suspended)",
  cloud_account_added: "cloud account added",
  cloud_account_removed: "cloud account removed",
  accounts_merged: "accounts merged by an e-mail match",
  accounts_split: "accounts split: the e-mail no longer matches",
  affiliation_changed: "cloud affiliation changed",
  instance_disconnected: "instance disconnected",
  email_changed: "primary e-mail changed",
  subscription_added: "Visual Studio subscription matched",
  subscription_removed: "Visual Studio subscription gone",
};
const CAUSES = {
  report: "report",
  accounts_import: "cloud accounts imported",
  saml_changed: "SAML switched",
  instance_disconnected: "instance disconnected",
  identity_link_created: "identity link added",
  identity_link_deleted: "identity link deleted",
  visual_studio_import: "Visual Studio subscribers imported",
};
const BEFORE_HISTORY = "1970-01-01T00:00:00Z";
const WEEK_MS = 7 * 86_400_000;

const persons = { q: "", page: 1, request: 0 };
const changes = { page: 1 };
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
  changes: renderChanges,
};

function currentView() {
  const name = location.hash.replace(/^#\/?/, "").split("?")[0];
  return Object.hasOwn(VIEWS, name) ? name : "overview";
}

function viewParams() {
  const query = location.hash.split("?")[1] || "";
  return new URLSearchParams(query);
}

async function render() {
  const main = document.getElementById("main");
  // Once per page load (whether a provider is configured, and a session if one exists),
  // and whenever the page has no credentials left.
  if (!sessionLoaded || !token.get()) {
    let ended;
    try {
      ended = await token.load();
    } catch (error) {
      main.replaceChildren(el("p", { class: "error", role: "alert", text: error.message }));
      return;
    }
    sessionLoaded = true;
    if (!token.get()) return renderSignIn(ended || "");
  }
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
  document.getElementById("signed-in-as").textContent = "";
  signInForm(document.getElementById("main"), {
    label: "Enterprise owner token",
    note: "The token stays in this browser tab and is sent only to this service.",
    message,
    onToken: (value) => {
      token.set(value);
      render();
    },
    other: token.identityProvider() ? providerSignIn() : null,
  });
}

// The way to the identity provider: a navigation the script starts (the page's policy
// allows no form submissions), with the enterprise the person wants to be an owner of.
function providerSignIn() {
  const input = el("input", {
    type: "text", id: "enterprise-slug", autocomplete: "organization", required: true,
    spellcheck: "false", autocapitalize: "none", pattern: "[a-z0-9]([a-z0-9\\-]*[a-z0-9])?",
    value: localStorage.getItem(ENTERPRISE_KEY) || "", "aria-describedby": "enterprise-note",
  });
  const form = el("form", {
    id: "provider-sign-in",
    onsubmit: (event) => {
      event.preventDefault();
      const slug = input.value.trim().toLowerCase();
      localStorage.setItem(ENTERPRISE_KEY, slug);
      location.assign(`/auth/oidc/login?enterprise=${encodeURIComponent(slug)}`);
    },
  },
  el("label", { for: "enterprise-slug", text: "Enterprise" }),
  input,
  el("button", { type: "submit", class: "primary", text: "Sign in with your identity provider" }));
  return {
    node: el("div", {},
      el("p", { class: "muted", id: "enterprise-note",
        text: "The enterprise's short name, as in its API paths. Your company's identity provider asks who you are; this service then checks that you are one of the enterprise's owners." }),
      form),
    tokenHeading: "Or with an owner token",
    focus: input,
  };
}

async function signOut() {
  token.dropToken(); // a token first: a session of this browser, if any, is ended next
  if (token.session()) {
    try {
      await api("/auth/sign-out", { method: "POST" });
    } catch (error) {
      if (!(error instanceof SignedOut)) {
        document.getElementById("main").prepend(
          el("p", { class: "error", role: "alert", text: `Could not sign out: ${error.message}` }));
        return;
      }
    }
  }
  token.clear();
  persons.q = "";
  persons.page = 1;
  renderSignIn("");
}

function showEnterprise(summary) {
  document.getElementById("enterprise-name").textContent = summary.name;
  const session = token.session();
  const person = session ? session.person.email || session.person.name || session.person.subject : "";
  document.getElementById("signed-in-as").textContent = person ? `Signed in as ${person}` : "";
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
    advancedSecurityLine(summary.advanced_security),
    el("h2", { text: "Consumed over time" }),
    historyChart(history.entries, purchased, summary.forecast),
    forecastText(summary.forecast, purchased),
    el("p", {}, el("a", { href: changesLink(lastWeek(), null), id: "last-week", text: "What changed in the last 7 days" })),
    el("p", { class: "muted", text: `Computed ${when(summary.computed_at)} from ${summary.server_instances.length} server instance(s).` }),
  );
}

// Unique GitHub Advanced Security committers, persons matched as for licenses.
function advancedSecurityLine(committers) {
  if (!committers) return null;
  const part = (key, value) => el("span", { "data-figure": `committers-${key}`, text: count(value) });
  return el("p", { id: "advanced-security" },
    el("strong", { text: "Advanced Security committers: " }),
    part("total", committers.total_committers), " unique (",
    part("cloud_only", committers.cloud_only), " cloud only, ",
    part("server_only", committers.server_only), " server only, ",
    part("both", committers.both), " both)");
}

function figureCard(label, key, value) {
  return el("div", { class: "card" },
    el("div", { class: "label", text: label }),
    el("div", { class: "value", "data-figure": key, text: count(value) }));
}

// A line of the figure after each history entry, against the seats purchased today, with
// the forecast drawn on from the last entry to the day the seats run out. Each point opens
// what changed at that entry: one tab stop for the chart, arrow keys between points.
function historyChart(entries, purchased, forecast) {
  const points = entries.filter((entry) => entry.total_seats_consumed !== null);
  if (points.length === 0) {
    return el("p", { class: "muted chart-empty", text: "No report has been applied yet." });
  }
  // Drawn at the width it is shown at, so that its labels stay legible on a phone.
  const width = Math.round(Math.min(1100, Math.max(280, document.getElementById("main").clientWidth - 18)));
  const height = width < 560 ? 200 : 260, left = 44, right = 12, top = 12, bottom = 28;
  const times = points.map((p) => Date.parse(p.received_at));
  const first = Math.min(...times), lastPoint = Math.max(...times);
  const lastValue = points[points.length - 1].total_seats_consumed;
  const exhausted = forecastEnd(forecast, lastPoint, first, lastValue, purchased);
  const last = exhausted === null ? lastPoint : exhausted.time;
  const ceiling = Math.max(purchased, ...points.map((p) => p.total_seats_consumed), 1) * 1.1;
  const x = (t) => (last === first ? (left + width - right) / 2 : left + ((t - first) / (last - first)) * (width - left - right));
  const y = (v) => top + (1 - v / ceiling) * (height - top - bottom);
  const line = points.map((p, i) => `${x(times[i]).toFixed(1)},${y(p.total_seats_consumed).toFixed(1)}`);
  const circles = points.map((p, i) => chartPoint(p, i === 0 ? null : points[i - 1], x(times[i]), y(p.total_seats_consumed)));
  circles[circles.length - 1].setAttribute("tabindex", "0");
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`, role: "group",
    "aria-label": `Consumed licenses after each of ${points.length} history entries; arrow keys move between them, Enter shows what changed`,
    onkeydown: (event) => movePoint(event, circles),
  },
  svg("line", { class: "axis", x1: left, x2: width - right, y1: y(0), y2: y(0) }),
  svg("line", { class: "purchased", x1: left, x2: width - right, y1: y(purchased), y2: y(purchased) }),
  svg("text", { x: left - 6, y: y(0) + 4, "text-anchor": "end" }, "0"),
  svg("text", { x: left - 6, y: y(purchased) + 4, "text-anchor": "end" }, count(purchased)),
  svg("text", { x: left, y: height - 8 }, axisLabel(first, last - first)),
  svg("text", { x: width - right, y: height - 8, "text-anchor": "end" }, axisLabel(last, last - first)),
  svg("polyline", { class: "consumed", points: line.join(" ") }),
  exhausted === null ? svg("g") : svg("line", {
    class: "forecast", id: "forecast-line",
    x1: x(lastPoint), y1: y(lastValue), x2: x(exhausted.time), y2: y(exhausted.value),
  }),
  ...circles);
  return el("figure", { class: "chart", id: "history-chart" },
    chart,
    el("figcaption", { class: "legend" },
      el("span", {}, el("span", { class: "swatch consumed" }), "consumed (select a point: what changed)"),
      el("span", {}, el("span", { class: "swatch purchased" }), "purchased"),
      exhausted === null ? null : el("span", {}, el("span", { class: "swatch forecast" }), "forecast")));
}

// Where the forecast's line ends on the chart: at the purchased seats on its date, or, when
// that is further out than the history is long (twelve weeks at least), at that horizon on
// the trend, so that the history keeps most of the width.
function forecastEnd(forecast, lastPoint, first, lastValue, purchased) {
  if (!forecast || !forecast.seats_exhausted_on || !(forecast.per_week > 0)) return null;
  const date = Date.parse(`${forecast.seats_exhausted_on}T12:00:00Z`);
  if (date <= lastPoint) return null;
  const horizon = lastPoint + Math.max(lastPoint - first, 12 * WEEK_MS);
  if (date <= horizon) return { time: date, value: purchased };
  return { time: horizon, value: lastValue + (forecast.per_week * (horizon - lastPoint)) / WEEK_MS };
}

function chartPoint(entry, previous, cx, cy) {
  const label = `${when(entry.received_at)}: ${count(entry.total_seats_consumed)} consumed after ${describeEntry(entry)}${changeCounts(entry)}. Show what changed.`;
  const open = () => { location.hash = changesLink(previous ? previous.received_at : BEFORE_HISTORY, entry.received_at); };
  return svg("circle", {
    class: "point", r: 5, cx, cy, tabindex: "-1", role: "button", "aria-label": label,
    "data-consumed": entry.total_seats_consumed, "data-at": entry.received_at,
    onclick: open,
    onkeydown: (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); open(); } },
  }, svg("title", {}, label));
}

function movePoint(event, circles) {
  const index = circles.indexOf(document.activeElement);
  if (index < 0) return;
  const next = { ArrowLeft: index - 1, ArrowRight: index + 1, Home: 0, End: circles.length - 1 }[event.key];
  if (next === undefined) return;
  event.preventDefault();
  const target = circles[Math.max(0, Math.min(circles.length - 1, next))];
  for (const circle of circles) circle.setAttribute("tabindex", circle === target ? "0" : "-1");
  target.focus();
}

function describeEntry(entry) {
  if (entry.cause === "report") return `${entry.hostname} report ${entry.sequence}`;
  const cause = CAUSES[entry.cause] || entry.cause;
  return entry.hostname ? `${cause} (${entry.hostname})` : cause;
}

function changeCounts(entry) {
  return entry.started === null ? "" : ` (+${count(entry.started)} / −${count(entry.stopped)})`;
}

function forecastText(forecast, purchased) {
  let text;
  if (forecast.seats_exhausted_on) {
    const on = days.format(new Date(`${forecast.seats_exhausted_on}T12:00:00Z`));
    text = forecast.per_week > 0
      ? `Forecast: at +${forecast.per_week} per week (trend over ${forecast.weeks_observed} weeks), consumption reaches the ${count(purchased)} purchased seats on ${on} (${forecast.seats_exhausted_on}).`
      : `Consumption reached the ${count(purchased)} purchased seats on ${on} (${forecast.seats_exhausted_on}).`;
  } else if (forecast.weeks_observed < 3) {
    text = `Forecast: ${forecast.weeks_observed} week(s) of history, too little for a date (3 needed).`;
  } else {
    text = `Forecast: consumption is flat or falling (${forecast.per_week} per week over ${forecast.weeks_observed} weeks): no date.`;
  }
  return el("p", { id: "forecast", class: "muted", "data-date": forecast.seats_exhausted_on || "", text });
}

function lastWeek() {
  return new Date(Date.now() - WEEK_MS).toISOString();
}

function changesLink(since, until) {
  const params = new URLSearchParams();
  if (since) params.set("since", since);
  if (until) params.set("until", until);
  return `#/changes?${params}`;
}

async function renderPersons(main, ctx) {
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
    linksSection(ctx, summary, loadPersons),
    subscribersSection(ctx, summary),
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
    person.license_type === "Visual Studio subscription"
      ? el("span", { class: "vs-note" }, el("br"),
        el("span", { class: "badge ok", text: "Visual Studio subscription" }),
        ` ${person.visual_studio_subscription_email}`)
      : null,
    person.ambiguous
      ? el("span", { class: "badge bad", text: ` several cloud accounts matched (${person.candidate_cloud_account_ids.join(", ")}); the lowest ID was chosen` })
      : null,
    (person.identity_links || []).map((link) => el("span", { class: "link-note", "data-link": link.id },
      el("br"),
      `Identity link ${link.id}: user ${link.user_id} ${link.separate ? "kept separate" : `joined to cloud account #${link.cloud_account_id}`} `,
      el("span", { class: `badge ${link.state === "applied" ? "ok" : "bad"}`, text: link.state }))));
}

async function renderChanges(main) {
  const params = viewParams();
  const since = params.get("since") || lastWeek();
  const until = params.get("until");
  const query = new URLSearchParams({ since, page: changes.page, per_page: PER_PAGE });
  if (until) query.set("until", until);
  const [summary, view] = await Promise.all([
    json("/enterprise/licenses"),
    json(`/enterprise/licenses/changes?${query}`),
  ]);
  showEnterprise(summary);
  const pages = Math.max(1, Math.ceil(Math.max(view.total_started, view.total_stopped) / PER_PAGE));
  const delta = view.to_total - view.from_total;
  main.replaceChildren(
    el("h1", { text: "What changed" }),
    el("p", { class: "muted", id: "changes-range", "data-since": since, "data-until": until || "",
      text: `From ${since === BEFORE_HISTORY ? "before the first entry" : when(view.since)} to ${when(until || view.until)}: ${count(view.entries)} history entr${view.entries === 1 ? "y" : "ies"}.` }),
    el("div", { class: "cards" },
      figureCard("Consumed before", "from_total", view.from_total),
      figureCard("Consumed after", "to_total", view.to_total),
      figureCard("Started", "total_started", view.total_started),
      figureCard("Stopped", "total_stopped", view.total_stopped)),
    el("p", { id: "changes-sum", text: `${count(view.from_total)} ${delta < 0 ? "−" : "+"} ${count(Math.abs(delta))} = ${count(view.to_total)}: ${count(view.total_started)} started, ${count(view.total_stopped)} stopped consuming.` }),
    el("p", {},
      el("a", { href: changesLink(lastWeek(), null), text: "Last 7 days" }), " · ",
      el("a", { href: "#/overview", text: "Back to the chart" })),
    changeTable("Started consuming", "started", view.started),
    changeTable("Stopped consuming", "stopped", view.stopped),
    el("div", { class: "pager" },
      el("button", { type: "button", class: "secondary", id: "changes-previous", text: "Previous", disabled: changes.page <= 1,
        onclick: () => turnChanges(-1) }),
      el("span", { id: "changes-page", text: `Page ${changes.page} of ${pages}` }),
      el("button", { type: "button", class: "secondary", id: "changes-next", text: "Next", disabled: changes.page >= pages,
        onclick: () => turnChanges(1) })),
  );
}

function changeTable(title, id, list) {
  const columns = ["Person", "Accounts", "Why"];
  const rows = list.map((person) => row(columns, [
    personName(person), accountList(person), REASONS[person.reason] || person.reason,
  ], [false, false, false]));
  return el("section", { "aria-labelledby": `${id}-title` },
    el("h2", { id: `${id}-title`, text: `${title} (${count(list.length)} on this page)` }),
    rows.length ? table(columns, rows, id, [false, false, false]) : el("p", { class: "muted", text: "No one." }));
}

async function turnChanges(step) {
  changes.page += step;
  await render();
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
window.addEventListener("hashchange", () => { changes.page = 1; render(); });
render();
