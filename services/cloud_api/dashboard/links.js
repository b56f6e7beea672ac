// Identity links on the persons page: the owners' corrections of the matching (join a GHES
// account to a cloud account e-mail matching misses, or keep one apart), each applied or
// dangling (an account it names is gone), with a form to add one and a delete button.
import { confirmDialog, count, el, messenger, row, table, when } from "./common.js";

const COLUMNS = ["GHES account", "Link", "State", "Created", "Actions"];
const NUMERIC = [false, false, false, false, false];

/** The section under the persons table. `onChange` reloads the persons after a change. */
export function linksSection(ctx, summary, onChange) {
  const view = { ctx, slug: summary.enterprise, summary, onChange };
  const section = el("section", { id: "identity-links", "aria-labelledby": "identity-links-title" },
    el("h2", { id: "identity-links-title", text: "Identity links" }),
    el("p", { class: "muted", text: "Join a GHES account to the cloud account e-mail matching misses, or keep " +
      "one apart from an automatic merge. A link whose account is gone is dangling: kept, shown, and not " +
      "applied until the account is back." }),
    el("div", { id: "link-message", tabindex: "-1" }),
    el("div", { id: "links-list" }),
    linkForm(view));
  view.refresh = () => refresh(view);
  view.refresh();
  return section;
}

async function refresh(view) {
  const answer = await view.ctx.json(`/enterprises/${view.slug}/identity-links`);
  const list = document.getElementById("links-list");
  if (!list) return;
  const rows = answer.links.map((link) => row(COLUMNS, [
    el("span", { class: "mono", text: `${hostnameOf(view, link.server_id)} user ${link.user_id}` }),
    link.separate ? "kept separate from every automatic merge" : `joined to cloud account #${link.cloud_account_id}`,
    link.state === "applied"
      ? el("span", { class: "badge ok", text: "applied" })
      : el("span", {}, el("span", { class: "badge bad", text: "dangling" }), " ", link.dangling_reason),
    when(link.created_at),
    el("button", { type: "button", class: "secondary small", "data-action": "delete-link",
      "aria-label": `Delete identity link ${link.id}`, text: "Delete", onclick: () => remove(view, link) }),
  ], NUMERIC));
  list.replaceChildren(rows.length
    ? table(COLUMNS, rows, "links", NUMERIC)
    : el("p", { class: "muted", id: "no-links", text: "No identity links: the automatic rules decide every match." }));
}

function hostnameOf(view, serverId) {
  const instance = view.summary.server_instances.find((i) => i.server_id === serverId);
  return instance ? instance.hostname : serverId;
}

function linkForm(view) {
  const instances = view.summary.server_instances.filter((i) => i.server_id);
  const cloudField = el("input", { type: "text", id: "link-cloud-account", inputmode: "numeric",
    autocomplete: "off", "aria-describedby": "link-cloud-hint" });
  const join = el("input", { type: "radio", name: "link-kind", id: "link-kind-join", value: "join", checked: true,
    onchange: () => { cloudField.disabled = false; } });
  const separate = el("input", { type: "radio", name: "link-kind", id: "link-kind-separate", value: "separate",
    onchange: () => { cloudField.disabled = true; } });
  const form = el("form", { class: "stack", id: "link-form", "aria-labelledby": "link-form-title",
    onsubmit: (event) => { event.preventDefault(); create(view, form); } },
    el("h3", { id: "link-form-title", text: "Add an identity link" }),
    el("label", { for: "link-instance", text: "Instance" }),
    el("select", { id: "link-instance" },
      instances.map((i) => el("option", { value: i.server_id, text: i.hostname }))),
    el("label", { for: "link-user", text: "GHES user ID" }),
    el("input", { type: "text", id: "link-user", inputmode: "numeric", autocomplete: "off", required: true }),
    el("fieldset", {},
      el("legend", { text: "What the link does" }),
      el("div", { class: "check" }, join, el("label", { for: "link-kind-join", text: "Join it to a cloud account" })),
      el("div", { class: "check" }, separate,
        el("label", { for: "link-kind-separate", text: "Keep it separate from every automatic merge" }))),
    el("label", { for: "link-cloud-account" }, "Cloud account ID",
      el("span", { class: "hint", id: "link-cloud-hint", text: "The numeric ID of the github.com account (as imported)." })),
    cloudField,
    el("div", {}, el("button", { type: "submit", class: "primary", id: "add-link", text: "Add link" })));
  return form;
}

async function create(view, form) {
  const kind = form.querySelector("input[name=link-kind]:checked").value;
  const body = {
    server_id: form.querySelector("#link-instance").value,
    user_id: Number(form.querySelector("#link-user").value.trim()),
  };
  if (kind === "separate") body.separate = true;
  else body.cloud_account_id = Number(form.querySelector("#link-cloud-account").value.trim());
  await guarded(view, async () => {
    const before = (await view.ctx.json("/enterprise/licenses")).total_seats_consumed;
    const link = await view.ctx.json(`/enterprises/${view.slug}/identity-links`, {
      method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" },
    });
    await changed(view, `Identity link ${link.id} added.`, before);
  });
}

async function remove(view, link) {
  const confirmed = await confirmDialog({
    title: `Delete identity link ${link.id}?`,
    text: "The automatic rules decide this GHES account's match again, and the figure moves at once.",
    confirm: "Delete link",
  });
  if (!confirmed) return;
  await guarded(view, async () => {
    const before = (await view.ctx.json("/enterprise/licenses")).total_seats_consumed;
    await view.ctx.api(`/enterprises/${view.slug}/identity-links/${link.id}`, { method: "DELETE" });
    await changed(view, `Identity link ${link.id} deleted.`, before);
  });
}

async function changed(view, what, before) {
  const after = (await view.ctx.json("/enterprise/licenses")).total_seats_consumed;
  await Promise.all([view.refresh(), view.onChange()]);
  tell("good", what, `Consumed licenses: ${count(before)} → ${count(after)}.`);
}

const { tell, guarded } = messenger("link-message");
