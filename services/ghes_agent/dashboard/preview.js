// The preview of the next sync (GET /sync/preview): what a sync now would send, against the
// last report the cloud accepted. The agent reads the users as a sync reads them (from GHES
// or the users file) and sends and stores nothing, so the preview works while the cloud is
// unreachable. Reading a large instance's users takes a while: the rest of the page never
// waits for it, and the section says it is reading meanwhile.
import { ApiError, SignedOut, count, el, facts, row, table, when } from "./common.js";

const KINDS = [
  ["added", "Added", "users the cloud has not been sent yet"],
  ["removed", "Removed", "users sent last time and gone or suspended now"],
  ["email_changed", "E-mail changed", "users whose address differs from the one sent (a change of case alone is none)"],
];
const SAMPLE_COLUMNS = ["User ID", "Login"];
const SAMPLE_NUMERIC = [true, false];

let latest = 0; // the newest request: an older answer arriving after it is not shown

/** The section, kept across the page's refreshes (its content is the last preview read). */
export function previewSection(onReload) {
  const kept = document.getElementById("preview");
  if (kept) return kept;
  return el("section", { class: "panel", id: "preview", "aria-labelledby": "preview-title" },
    el("div", { class: "preview-head" },
      el("h2", { id: "preview-title", text: "Preview of the next sync" }),
      el("button", { type: "button", class: "secondary small", id: "preview-again", text: "Preview again",
        onclick: onReload })),
    el("p", { class: "muted", text: "What a sync now would send, against the last report the cloud accepted. " +
      "Nothing is sent or stored: it works while the cloud is unreachable." }),
    el("div", { id: "preview-body" }));
}

/** Reads the preview and shows it in the section; `signedOut(error)` when the token is refused. */
export async function loadPreview(json, signedOut) {
  const mine = ++latest;
  const section = document.getElementById("preview");
  if (!section) return;
  const body = section.querySelector("#preview-body");
  const button = section.querySelector("#preview-again");
  section.dataset.state = "loading";
  section.setAttribute("aria-busy", "true");
  button.disabled = true;
  body.replaceChildren(el("p", { class: "muted", text: "Reading the instance's users…" }));
  try {
    const preview = await json("/sync/preview");
    if (mine !== latest) return;
    body.replaceChildren(...previewContent(preview));
    section.dataset.state = "shown";
  } catch (error) {
    if (mine !== latest) return;
    if (error instanceof SignedOut) return signedOut(error);
    const reason = error instanceof ApiError && error.detail ? error.detail : error.message;
    body.replaceChildren(el("div", { class: "notice bad", id: "preview-error" },
      el("p", {}, el("strong", { text: "No preview: " }), reason)));
    section.dataset.state = "failed";
  } finally {
    if (mine === latest) {
      section.removeAttribute("aria-busy");
      button.disabled = false;
    }
  }
}

function previewContent(preview) {
  return [
    el("p", { id: "preview-baseline", text: preview.last_accepted_report_id
      ? `Compared with report ${preview.last_accepted_sequence}, which the cloud accepted ${when(preview.last_accepted_at)}.`
      : "The cloud has accepted no report from this agent yet: every user would be new to it." }),
    facts([
      ["Users to send", count(preview.users), "preview-users"],
      ["Suspended left out", count(preview.suspended_excluded), "preview-suspended"],
      ["Invalid e-mails (sent without one)", count(preview.invalid_emails), "preview-invalid"],
      ...KINDS.map(([kind, label]) => [label, count(preview[kind]), `preview-${kind}`]),
    ], { id: "preview-facts" }),
    ...KINDS.filter(([kind]) => preview[kind] > 0).map(([kind, label, meaning]) =>
      samples(kind, label, meaning, preview[kind], preview.samples[kind])),
  ];
}

function samples(kind, label, meaning, total, users) {
  const shown = users.length < total ? `the first ${count(users.length)} of ${count(total)}` : `all ${count(total)}`;
  const title = `preview-${kind}-title`;
  const list = table(SAMPLE_COLUMNS, users.map((user) => row(SAMPLE_COLUMNS, [
    String(user.id), user.login ? el("code", { text: user.login }) : "—",
  ], SAMPLE_NUMERIC)), `preview-samples-${kind}`, SAMPLE_NUMERIC);
  list.setAttribute("aria-labelledby", title);
  return el("div", { class: "preview-samples" },
    el("h3", { id: title, text: `${label}: ${shown}` }),
    el("p", { class: "muted", text: `${meaning[0].toUpperCase()}${meaning.slice(1)}.` }),
    list);
}
