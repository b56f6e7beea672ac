// Server instances: the list, connect (the instance token shown once), rotate a token,
// disconnect (after a confirmation), and Add server usage (upload.js).
import {
  ApiError, SignedOut, confirmDialog, count, el, messenger, openDialog, row, secretDialog, table, when,
} from "./common.js";
import { uploadSection } from "./upload.js";

const COLUMNS = ["Hostname", "Last sync", "Status", "Source", "Accounts reported", "Persons only here", "Actions"];
const NUMERIC = [false, false, false, false, true, true, false];

export async function renderInstances(main, ctx) {
  const summary = await ctx.json("/enterprise/licenses");
  ctx.showEnterprise(summary);
  const view = { ctx, slug: summary.enterprise, summary };
  view.refresh = () => refresh(view);
  main.replaceChildren(
    el("h1", { text: "Server instances" }),
    el("p", { class: "figure-line", id: "instances-figure" }),
    el("div", { class: "actions" },
      el("button", { type: "button", class: "primary", id: "connect-instance", text: "Connect an instance",
        onclick: () => connect(view) })),
    el("div", { id: "instance-message", tabindex: "-1" }),
    el("div", { id: "instances-list" }),
    el("p", { class: "muted", text: "Persons only here: how far the figure would drop without the instance." }),
    uploadSection(view),
  );
  show(view, summary);
}

async function refresh(view) {
  const summary = await view.ctx.json("/enterprise/licenses");
  show(view, summary);
  return summary;
}

function show(view, summary) {
  view.summary = summary;
  document.getElementById("instances-figure").replaceChildren(
    "Consumed licenses: ",
    el("strong", { "data-figure": "consumed", text: count(summary.total_seats_consumed) }),
    ` of ${count(summary.total_seats_purchased)} purchased`);
  const rows = summary.server_instances.map((instance) => instanceRow(view, instance));
  document.getElementById("instances-list").replaceChildren(rows.length
    ? table(COLUMNS, rows, "instances", NUMERIC)
    : el("p", { class: "muted", text: "No GHES instance is connected yet." }));
}

function instanceRow(view, instance) {
  const sync = instance.last_sync;
  const ok = sync && sync.status === "success";
  const status = sync
    ? el("span", { class: `badge ${ok ? "ok" : "bad"}`, title: sync.error || null, text: ok ? "success" : sync.status })
    : el("span", { class: "muted", text: "never synced" });
  return row(COLUMNS, [
    el("span", {}, el("strong", { text: instance.hostname }), el("br"),
      el("small", { class: "muted mono", text: instance.server_id || "not bound yet" })),
    when(sync && sync.date),
    status,
    sourceLabel(instance),
    count(instance.accounts_reported),
    count(instance.persons_only_here),
    rowActions(view, instance),
  ], NUMERIC);
}

function sourceLabel(instance) {
  if (instance.source === "connect") return "synced";
  if (instance.source === "upload") return "uploaded";
  return instance.upload_only ? "upload only, nothing uploaded yet" : "—";
}

function rowActions(view, instance) {
  if (!instance.server_id) {
    return el("span", { class: "muted", text: "bound to its server at its first sync" });
  }
  const name = instance.hostname;
  return el("div", { class: "row-actions" },
    instance.upload_only ? null : el("button", {
      type: "button", class: "secondary small", "data-action": "rotate", "aria-label": `Rotate token of ${name}`,
      text: "Rotate token", onclick: () => rotate(view, instance),
    }),
    el("button", {
      type: "button", class: "secondary small", "data-action": "disconnect", "aria-label": `Disconnect ${name}`,
      text: "Disconnect", onclick: () => disconnect(view, instance),
    }));
}

// --- actions ------------------------------------------------------------------------------

/** Shows what an action did (or why it failed) above the table and moves focus there. */
const { tell, guarded } = messenger("instance-message");

async function disconnect(view, instance) {
  const confirmed = await confirmDialog({
    title: `Disconnect ${instance.hostname}?`,
    text: "Its token stops working and its users stop counting toward the figure at once. " +
      "Its history stays. Connecting it again gives it a new token.",
    confirm: "Disconnect",
  });
  if (!confirmed) return;
  const before = view.summary.total_seats_consumed;
  await guarded(view, async () => {
    await view.ctx.api(instancePath(view, instance), { method: "DELETE" });
    const summary = await view.refresh();
    tell("good", `Disconnected ${instance.hostname}.`,
      `Consumed licenses: ${count(summary.total_seats_consumed)} (was ${count(before)}).`);
  });
}

async function rotate(view, instance) {
  const confirmed = await confirmDialog({
    title: `Rotate the token of ${instance.hostname}?`,
    text: "The current token stops working at once: the agent's syncs fail until its " +
      "GHES_AGENT_INSTANCE_TOKEN is set to the new token.",
    confirm: "Rotate token",
  });
  if (!confirmed) return;
  await guarded(view, async () => {
    const answer = await view.ctx.json(`${instancePath(view, instance)}/token`, { method: "POST" });
    await secretDialog({
      title: `New token for ${instance.hostname}`,
      label: "Instance token",
      secret: answer.instance_token,
      lead: "Set it as GHES_AGENT_INSTANCE_TOKEN on the agent; the old token no longer works.",
    });
    tell("good", `The token of ${instance.hostname} was rotated; the old one no longer works.`);
  });
}

function instancePath(view, instance) {
  return `/enterprises/${encodeURIComponent(view.slug)}/server-instances/${encodeURIComponent(instance.server_id)}`;
}

// --- connecting ---------------------------------------------------------------------------

async function connect(view) {
  const connected = await openDialog({ title: "Connect an instance", build: (close) => connectForm(view, close) });
  if (!connected) return;
  if (connected.instance_token) {
    await secretDialog({
      title: `${connected.hostname} is connected`,
      label: "Instance token",
      secret: connected.instance_token,
      lead: "Set it as GHES_AGENT_INSTANCE_TOKEN on the instance's agent, with GHES_AGENT_CLOUD_URL pointing here.",
    });
  }
  await guarded(view, async () => {
    await view.refresh();
    tell("good", connected.instance_token
      ? `${connected.hostname} is connected; its first sync binds it to its server.`
      : `${connected.hostname} is connected for uploads: add its usage with an export file below.`);
  });
}

function connectForm(view, close) {
  const field = (id, label, hint, input) => [
    el("label", { for: id }, label, hint ? el("span", { class: "hint", id: `${id}-hint`, text: hint }) : null),
    input,
  ];
  const hostname = el("input", { type: "text", id: "connect-hostname", required: true, autocomplete: "off", spellcheck: "false" });
  const uploadOnly = el("input", { type: "checkbox", id: "connect-upload-only" });
  const serverId = el("input", { type: "text", id: "connect-server-id", autocomplete: "off", spellcheck: "false",
    "aria-describedby": "connect-server-id-hint" });
  const publicKey = el("input", { type: "text", id: "connect-public-key", autocomplete: "off", spellcheck: "false",
    "aria-describedby": "connect-public-key-hint" });
  const problem = el("div", { id: "connect-problem" });
  const submit = el("button", { type: "submit", class: "primary", text: "Connect" });
  const form = el("form", {
    class: "stack",
    onsubmit: async (event) => {
      event.preventDefault();
      submit.disabled = true;
      try {
        close(await postConnect(view, hostname.value, uploadOnly.checked, serverId.value, publicKey.value));
      } catch (error) {
        if (error instanceof SignedOut) {
          close(null);
          return view.ctx.signIn(error.message);
        }
        problem.replaceChildren(el("p", { class: "error", role: "alert", text: error instanceof ApiError && error.detail ? error.detail : error.message }));
      } finally {
        submit.disabled = false;
      }
    },
  },
  field("connect-hostname", "Hostname", null, hostname),
  el("div", { class: "check" }, uploadOnly,
    el("label", { for: "connect-upload-only", text: "Upload only: the instance has no network path here; its usage comes as export files" })),
  field("connect-server-id", "Server ID", "Required for upload only. The agent's page shows it under This instance (or GET /instance).", serverId),
  field("connect-public-key", "Public key", "Required for upload only: the agent's Ed25519 public key (base64), from the same place.", publicKey),
  problem,
  el("div", { class: "dialog-buttons" },
    el("button", { type: "button", class: "secondary", text: "Cancel", onclick: () => close(null) }),
    submit));
  return [form];
}

async function postConnect(view, hostname, uploadOnly, serverId, publicKey) {
  const body = { hostname: hostname.trim(), upload_only: uploadOnly };
  if (serverId.trim()) body.server_id = serverId.trim();
  if (publicKey.trim()) body.public_key = publicKey.trim();
  return view.ctx.json(`/enterprises/${encodeURIComponent(view.slug)}/server-instances`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}
