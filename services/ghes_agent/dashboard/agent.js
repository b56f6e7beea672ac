// The agent's page: the license sync of one GHES instance, GitHub's Sync now and Export
// license usage as buttons. Plain DOM, no request but to this agent; the admin token is
// kept and sent as the owner dashboard keeps its token (common.js).
import {
  ApiError, SignedOut, apiClient, count, downloadBlob, el, facts, filenameOf, renderSignIn as signInForm,
  row, table, tokenStore, when,
} from "./common.js";
import { loadPreview, previewSection } from "./preview.js";

const REFUSED = "The token was not accepted: use the agent's admin token " +
  "(GHES_AGENT_ADMIN_TOKEN, or the admin_token file in the agent's data directory).";
const ACTIVE = ["queued", "running"];
const FOLLOW_EVERY_MS = 400;
const RUN_COLUMNS = ["Started", "Trigger", "Outcome", "Users sent", "Attempts"];
const RUN_NUMERIC = [false, false, false, true, true];

const token = tokenStore("license-sync.agent-token");
const { api, json } = apiClient(token, REFUSED);
let following = null; // the id of the run this page follows, while it is active
let followingLead = ""; // what the progress line says of it: the latest press decides

// --- rendering ----------------------------------------------------------------------------

async function render() {
  const main = document.getElementById("main");
  if (!token.get()) return renderSignIn("");
  document.getElementById("sign-out").hidden = false;
  main.setAttribute("aria-busy", "true");
  delete main.dataset.view;
  try {
    const latest = await refresh(main);
    main.dataset.view = "agent"; // what is on screen, complete (tests and scripts wait for it)
    showPreview(); // after the rest: reading the users may take a while
    if (latest && ACTIVE.includes(latest.status)) follow(latest, "A sync is running");
  } catch (error) {
    if (error instanceof SignedOut) return renderSignIn(error.message);
    main.replaceChildren(el("p", { class: "error", role: "alert", id: "page-error", text: error.message }));
  } finally {
    main.removeAttribute("aria-busy");
  }
}

/** Reads the agent's state and shows it; the run-progress line and messages stay. */
async function refresh(main = document.getElementById("main")) {
  const [status, runList, instance] = await Promise.all([
    json("/sync/status"), json("/sync/runs"), json("/instance"),
  ]);
  document.getElementById("instance-name").textContent = instance.hostname;
  const runs = runList.runs;
  const progress = document.getElementById("run-progress") || el("div", { id: "run-progress", role: "status" });
  const message = document.getElementById("page-message") || el("div", { id: "page-message", tabindex: "-1" });
  main.replaceChildren(...[
    el("h1", { text: "License sync" }),
    el("div", { class: "actions" },
      el("button", { type: "button", class: "primary", id: "sync-now", text: "Sync now", onclick: syncNow }),
      el("button", { type: "button", class: "secondary", id: "export-usage", text: "Export license usage",
        onclick: (event) => exportUsage(event.currentTarget) })),
    progress,
    message,
    lastErrorNotice(status),
    el("div", { class: "panels" },
      lastSyncPanel(runs),
      schedulePanel(status),
      instancePanel(instance)),
    previewSection(showPreview),
    el("h2", { text: "Recent runs" }),
    runs.length
      ? table(RUN_COLUMNS, runs.slice(0, 20).map(runRow), "runs", RUN_NUMERIC)
      : el("p", { class: "muted", text: "No sync has run yet." }),
  ].filter(Boolean));
  return runs[0] || null;
}

function showPreview() {
  return loadPreview(json, (error) => renderSignIn(error.message));
}

function lastErrorNotice(status) {
  const error = status.last_error || status.undelivered_error;
  if (!error) return null;
  return el("div", { class: "notice bad", id: "last-error", role: "alert" },
    el("p", {}, el("strong", { text: status.last_error ? "The last sync failed. " : "A report is not delivered yet. " }),
      el("span", { id: "last-error-text", text: error })),
    status.advice ? el("p", { id: "advice" }, el("strong", { text: "What to do: " }), status.advice) : null);
}

function lastSyncPanel(runs) {
  const last = runs.find((run) => run.finished_at);
  const body = last
    ? facts([
      ["Time", when(last.finished_at), "last-time"],
      ["Status", outcomeWord(last), "last-status"],
      ["Users sent", count(last.users_sent), "users-sent"],
      ["Suspended left out", count(last.suspended_excluded), "suspended-excluded"],
      ["The cloud's figure", last.receipt ? count(last.receipt.total_seats_consumed) : "—", "cloud-figure"],
    ], { id: "last-sync-facts" })
    : el("p", { class: "muted", text: "No sync has finished yet: press Sync now." });
  return el("section", { class: "panel", id: "last-sync", "aria-labelledby": "last-sync-title" },
    el("h2", { id: "last-sync-title", text: "Last sync" }), body);
}

function schedulePanel(status) {
  return el("section", { class: "panel", id: "schedule", "aria-labelledby": "schedule-title" },
    el("h2", { id: "schedule-title", text: "Schedule and delivery" }),
    facts([
      ["Next scheduled run", when(status.next_scheduled_run), "next-run"],
      ["Schedule", status.schedule_in_words || "no schedule: syncs run only when started", "schedule"],
      ["Reports waiting for delivery", count(status.pending_reports), "pending-reports"],
      ["Next retry", status.pending_reports ? when(status.next_retry_at) : "—", "next-retry"],
      ["Last success", when(status.last_success), "last-success"],
    ]));
}

function instancePanel(instance) {
  return el("section", { class: "panel", id: "instance", "aria-labelledby": "instance-title" },
    el("h2", { id: "instance-title", text: "This instance" }),
    facts([
      ["Server ID", el("code", { text: instance.server_id }), "server-id"],
      ["Hostname", instance.hostname, "hostname"],
      ["GHES version", instance.ghes_version, "ghes-version"],
      ["GHES license", licenseText(instance), "license"],
      ["Public key fingerprint", el("code", { text: instance.public_key_fingerprint }), "fingerprint"],
      ["Public key", el("code", { text: instance.public_key }), "public-key"],
    ]),
    el("p", { class: "muted", text: instance.facts_read_at
      ? `Version and license as read ${when(instance.facts_read_at)}.`
      : "Version and license are read at the first sync or export." }));
}

function licenseText(instance) {
  const license = instance.license;
  if (!license) return instance.facts_read_at ? "not known: the users file does not say it" : "not read yet";
  const seats = license.unlimited ? "unlimited seats" : `${count(license.seats)} seats`;
  return license.expires_at ? `${seats}, expires ${when(license.expires_at)}` : `${seats}, no expiry`;
}

function runRow(run) {
  const failed = run.status === "failed";
  return row(RUN_COLUMNS, [
    when(run.started_at || run.created_at),
    run.trigger,
    el("span", {},
      el("span", { class: `badge ${failed ? "bad" : run.status === "succeeded" ? "ok" : ""}`, text: outcomeWord(run) }),
      failed && run.error ? el("span", { class: "run-error", text: run.error }) : null,
      run.receipt ? el("span", { class: "run-detail", text: `the cloud counts ${count(run.receipt.total_seats_consumed)}` }) : null),
    count(run.users_sent),
    count(run.attempts),
  ], RUN_NUMERIC);
}

function outcomeWord(run) {
  return run.status === "succeeded" ? "delivered" : run.status;
}

// --- Sync now -----------------------------------------------------------------------------

async function syncNow() {
  try {
    const run = await json("/sync/trigger", { method: "POST" });
    if (!run.started) {
      return follow(run, `A sync is already ${run.status}, started ${when(run.created_at)} (${run.trigger}): showing it`);
    }
    await follow(run, "Sync started");
  } catch (error) {
    handle(error, "Sync now failed");
  }
}

/** Shows the run until it ends, then the page's new state; one loop per run. */
async function follow(run, lead) {
  followingLead = lead;
  showProgress(run, lead);
  if (following === run.id) return; // already followed: the loop below shows the new lead
  following = run.id;
  try {
    while (ACTIVE.includes(run.status)) {
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_EVERY_MS));
      run = await json(`/sync/runs/${encodeURIComponent(run.id)}`);
      showProgress(run, followingLead);
    }
    await refresh();
    // A delivered report is what the next sync is compared with: the preview changes.
    if (run.status === "succeeded") showPreview();
    document.getElementById("main").dataset.followed = run.id; // shown, and the page read again
  } catch (error) {
    handle(error, "Following the sync failed");
  } finally {
    following = null;
  }
}

function showProgress(run, lead) {
  const box = document.getElementById("run-progress");
  if (!box) return;
  box.dataset.runId = run.id;
  box.dataset.runStatus = run.status;
  const kind = run.status === "failed" ? "bad" : run.status === "succeeded" ? "good" : "";
  box.replaceChildren(el("div", { class: `notice ${kind}` }, el("p", {}, progressText(run, lead))));
}

function progressText(run, lead) {
  if (run.status === "queued") return `${lead}: queued…`;
  if (run.status === "running") return `${lead}: running, reading the users and sending the report…`;
  if (run.status === "succeeded") {
    const figure = run.receipt ? ` The cloud counts ${count(run.receipt.total_seats_consumed)} consumed licenses.` : "";
    return `Sync delivered: ${count(run.users_sent)} users sent, ${count(run.suspended_excluded)} suspended left out.${figure}`;
  }
  return `Sync failed: ${run.error || "no reason recorded"}`;
}

// --- Export license usage -----------------------------------------------------------------

async function exportUsage(button) {
  button.disabled = true;
  button.textContent = "Preparing…";
  try {
    const response = await api("/license/usage/export");
    const name = filenameOf(response, "license-usage.json");
    downloadBlob(await response.blob(), name);
    tell("good", `Exported ${name} (report ${response.headers.get("X-Report-Sequence")}). ` +
      "Upload it on the cloud dashboard: Server instances, Add server usage.");
    await refresh();
  } catch (error) {
    handle(error, "Export failed");
  } finally {
    button.disabled = false;
    button.textContent = "Export license usage";
  }
}

// --- messages and signing in --------------------------------------------------------------

function handle(error, what) {
  if (error instanceof SignedOut) return renderSignIn(error.message);
  tell("bad", `${what}: ${error instanceof ApiError && error.detail ? error.detail : error.message}`);
}

function tell(kind, text) {
  const box = document.getElementById("page-message");
  if (!box) return;
  box.replaceChildren(el("div", { class: `notice ${kind}`, role: kind === "bad" ? "alert" : "status" }, el("p", { text })));
  if (kind === "bad") box.focus();
}

function renderSignIn(message) {
  following = null;
  document.getElementById("sign-out").hidden = true;
  document.getElementById("instance-name").textContent = "";
  signInForm(document.getElementById("main"), {
    label: "Agent admin token",
    note: "The token stays in this browser tab and is sent only to this agent.",
    message,
    onToken: (value) => {
      token.set(value);
      render();
    },
  });
}

document.getElementById("sign-out").addEventListener("click", () => {
  token.clear();
  renderSignIn("");
});
render();
