// Add server usage: an export file chosen or dropped on the page, uploaded with a progress
// bar (XMLHttpRequest: fetch reports no upload progress), then applied or refused with the
// API's reason in words. A refused file changes nothing.
import { count, el } from "./common.js";

// The API's words for a refused file, said for a person; its detail follows.
const REFUSALS = {
  signature_invalid: "The file was changed after the agent signed it, or another instance's key signed it.",
  unknown_instance: "No instance connected to this enterprise has the file's server_id: connect it first (upload only, with its server ID and public key).",
  no_public_key: "The instance has no public key to check the file's signature against: connect it again with its public key.",
  sequence_conflict: "The file is older than the usage this instance already has here (or the same): export a new file on the agent.",
  report_id_conflict: "A different file with the same report ID was applied before.",
  invalid_export: "This is not an export file: it is not JSON, or not the agent's export format.",
  unsupported_version: "The file's format version is not one this service reads.",
  invalid_report: "The report inside the file breaks the usage report format.",
  payload_too_large: "The file is too large for this service.",
  unsupported_media_type: "The file could not be sent in a form this service reads.",
};

let dropHandlersInstalled = false;

export function uploadSection(view) {
  installDropHandlers();
  const input = el("input", {
    type: "file", id: "usage-file", accept: ".json,application/json", "aria-describedby": "usage-file-hint",
    onchange: () => {
      if (input.files.length) upload(view, input.files[0]);
      input.value = "";
    },
    "onusage-file": (event) => upload(view, event.detail), // a file dropped on the page
  });
  return el("section", { id: "add-server-usage", "aria-labelledby": "add-server-usage-title" },
    el("h2", { id: "add-server-usage-title", text: "Add server usage" }),
    el("div", { class: "dropzone", id: "dropzone" },
      el("label", { for: "usage-file", text: "Choose an export file" }),
      input,
      el("p", { class: "muted", id: "usage-file-hint",
        text: "…or drop it anywhere on this page. The file comes from Export license usage on the instance's agent page." })),
    el("div", { id: "upload-progress-box", class: "upload-progress", hidden: true },
      el("label", { for: "upload-progress", id: "upload-progress-label", text: "Uploading" }),
      el("progress", { id: "upload-progress", max: "100", value: "0" })),
    el("div", { id: "upload-result", tabindex: "-1" }));
}

// Dropping a file anywhere on the page while the section is shown uploads it; elsewhere the
// browser is kept from opening the dropped file in place of the dashboard.
function installDropHandlers() {
  if (dropHandlersInstalled) return;
  dropHandlersInstalled = true;
  document.addEventListener("dragover", (event) => {
    event.preventDefault();
    if (document.getElementById("dropzone")) document.body.classList.add("dragging");
  });
  document.addEventListener("dragleave", (event) => {
    if (event.relatedTarget === null) document.body.classList.remove("dragging");
  });
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    document.body.classList.remove("dragging");
    const file = event.dataTransfer && event.dataTransfer.files[0];
    const upload = document.getElementById("usage-file");
    if (file && upload) upload.dispatchEvent(new CustomEvent("usage-file", { detail: file }));
  });
}

async function upload(view, file) {
  const box = document.getElementById("upload-progress-box");
  const bar = document.getElementById("upload-progress");
  const label = document.getElementById("upload-progress-label");
  const result = document.getElementById("upload-result");
  result.replaceChildren();
  box.hidden = false;
  bar.value = 0;
  label.textContent = `Uploading ${file.name}`;
  let answer;
  try {
    answer = await send(view, file, (share) => { bar.value = share; });
  } catch (error) {
    box.hidden = true;
    return say(result, "bad", [`${file.name} was not uploaded: ${error.message}`, "Nothing was changed."]);
  }
  bar.value = 100;
  label.textContent = `Sent ${file.name}`;
  if (answer.status === 401) {
    const message = view.ctx.token.refused() || "The token was not accepted: use an enterprise owner token (lso_…).";
    view.ctx.token.clear();
    return view.ctx.signIn(message);
  }
  if (answer.status >= 400) return say(result, "bad", refusal(file, answer));
  const summary = await view.refresh();
  say(result, "good", applied(file, answer.body, summary));
}

function say(result, kind, lines) {
  result.replaceChildren(el("div", { class: `notice ${kind}`, role: kind === "bad" ? "alert" : "status",
    "data-outcome": kind === "bad" ? "refused" : "applied" }, lines.map((line) => el("p", {}, line))));
  result.focus();
}

function applied(file, receipt, summary) {
  const instance = summary.server_instances.find((i) => i.server_id === receipt.server_id);
  const where = instance ? instance.hostname : receipt.server_id;
  if (receipt.status === "duplicate") {
    return [`${file.name} was applied before: nothing changed.`,
      `Consumed licenses: ${count(summary.total_seats_consumed)}.`];
  }
  return [`Applied: report ${receipt.sequence} of ${where}, ${count(receipt.users_accepted)} users.`,
    `Consumed licenses: ${count(receipt.total_seats_consumed)}.`];
}

function refusal(file, answer) {
  const body = answer.body || {};
  const reason = REFUSALS[body.error] || (answer.status === 413 ? REFUSALS.payload_too_large : "The service refused the file.");
  const current = body.current_sequence ? ` The instance's current report here is number ${body.current_sequence}.` : "";
  return [`Refused: ${file.name}. ${reason}${current}`,
    body.detail ? `The service said: ${body.detail}` : `The service answered ${answer.status}.`,
    "Nothing was changed."];
}

/** POSTs the file as the raw JSON body; resolves {status, body} for any answer. */
function send(view, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/enterprises/${encodeURIComponent(view.slug)}/server-usage/uploads`);
    for (const [name, value] of Object.entries(view.ctx.token.headers() || {})) {
      xhr.setRequestHeader(name, value);
    }
    xhr.setRequestHeader("Content-Type", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(Math.round((event.loaded / event.total) * 100));
    });
    xhr.addEventListener("load", () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // an answer without a JSON body: the status says enough
      }
      resolve({ status: xhr.status, body });
    });
    xhr.addEventListener("error", () => reject(new Error("the connection to this service failed")));
    xhr.addEventListener("abort", () => reject(new Error("the upload was stopped")));
    xhr.send(file);
  });
}
