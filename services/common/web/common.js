// What both services' pages share: building elements, formatting, the token kept in the
// tab, calling the service's API, and dialogs. Plain DOM, no framework.
//
// A token lives in this tab's sessionStorage and travels only in the Authorization header:
// never in a URL, a cookie or a form submission (the sign-in input has no name, and the
// pages' Content-Security-Policy forbids form actions). Every value shown is set with
// textContent, never parsed as HTML.

const SVG_NS = "http://www.w3.org/2000/svg";

export class SignedOut extends Error {}

/** An error answer of the API: its status, its word and its detail. */
export class ApiError extends Error {
  constructor(path, status, body) {
    const detail = body && (body.detail || body.error);
    super(detail ? `${path} answered ${status}: ${detail}` : `${path} answered ${status}`);
    this.status = status;
    this.error = (body && body.error) || null;
    this.detail = (body && body.detail) || null;
    this.body = body || {};
  }
}

// --- elements -----------------------------------------------------------------------------

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttributes(node, attrs);
  appendAll(node, children);
  return node;
}

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttributes(node, attrs);
  node.append(...children);
  return node;
}

function appendAll(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function setAttributes(node, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = String(value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
}

/** A definition list of facts: [[term, value, dataName], ...]; value may be a node. */
export function facts(rows, attrs = {}) {
  return el("dl", { class: "facts", ...attrs }, rows.map(([term, value, name]) => [
    el("dt", { text: term }),
    el("dd", { "data-fact": name || null }, value),
  ]));
}

// --- formatting ---------------------------------------------------------------------------

const numbers = new Intl.NumberFormat();
export const dates = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function count(value) {
  return value === null || value === undefined ? "—" : numbers.format(value);
}

export function when(iso) {
  return iso ? dates.format(new Date(iso)) : "—";
}

// --- the token and the API ----------------------------------------------------------------

/** The token of one page, in this tab only. */
export function tokenStore(key) {
  return {
    get: () => sessionStorage.getItem(key),
    set: (token) => sessionStorage.setItem(key, token),
    clear: () => sessionStorage.removeItem(key),
    /** What a request carries; null when signed out. */
    headers() {
      const token = sessionStorage.getItem(key);
      return token ? { Authorization: `Bearer ${token}` } : null;
    },
    /** fetch's credentials mode: a token needs no cookie. */
    credentials: () => "omit",
    refused: () => null,
  };
}

/**
 * Calls to this service with what `store.headers()` gives (the token's Authorization header,
 * or a session's CSRF header with the session cookie). A 401 forgets the credentials and
 * throws SignedOut(store.refused() or refused); another error answer throws ApiError; no
 * answer at all throws an Error saying the service did not answer.
 */
export function apiClient(store, refused) {
  async function api(path, { method = "GET", body, headers = {} } = {}) {
    const credentials = store.headers();
    if (!credentials) throw new SignedOut("");
    let response;
    try {
      response = await fetch(path, {
        method,
        body,
        headers: { ...headers, ...credentials },
        cache: "no-store",
        credentials: store.credentials(),
      });
    } catch {
      throw new Error(`This service did not answer ${path}: is it running, and is the network up?`);
    }
    if (response.status === 401) {
      const message = store.refused() || refused;
      store.clear();
      throw new SignedOut(message);
    }
    if (!response.ok) throw new ApiError(path, response.status, await errorBody(response));
    return response;
  }
  return {
    api,
    json: async (path, options) => (await api(path, options)).json(),
  };
}

export async function errorBody(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/** The file name the service gave in Content-Disposition, or the fallback. */
export function filenameOf(response, fallback) {
  const disposition = response.headers.get("Content-Disposition") || "";
  return (disposition.match(/filename="([^"]+)"/) || [])[1] || fallback;
}

export function downloadBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// --- sign-in ------------------------------------------------------------------------------

/**
 * The sign-in form in `main`; `onToken` gets the trimmed token the person typed. `other`:
 * another way to sign in, shown first (the token form then gets a heading of its own).
 */
export function renderSignIn(main, { label, note, message, onToken, other }) {
  const input = el("input", {
    type: "password", id: "token", autocomplete: "off", required: true, spellcheck: "false",
    "aria-describedby": message ? "sign-in-error" : null,
  });
  const form = el(
    "form",
    {
      onsubmit: (event) => {
        event.preventDefault();
        const token = input.value.trim();
        input.value = "";
        onToken(token);
      },
    },
    el("label", { for: "token", text: label }),
    input,
    el("button", { type: "submit", class: "primary", text: "Sign in" }),
  );
  const problem = message ? el("p", { class: "error", role: "alert", id: "sign-in-error", text: message }) : null;
  main.replaceChildren(
    el("section", { class: "signin" },
      el("h1", { text: "Sign in" }),
      problem,
      other ? other.node : null,
      other ? el("h2", { text: other.tokenHeading }) : null,
      el("p", { class: "muted", text: note }),
      form),
  );
  (other ? other.focus : input).focus();
}

// --- dialogs ------------------------------------------------------------------------------

let dialogCount = 0;

/**
 * A modal dialog: the rest of the page is inert while it is open (showModal), Escape
 * closes it, and focus returns to the element that had it. `build(close)` gives the
 * dialog's content; `close(value)` ends it and resolves the promise with `value`.
 */
export function openDialog({ title, role = "dialog", build }) {
  const opener = document.activeElement;
  const id = `dialog-title-${++dialogCount}`;
  const dialog = el("dialog", { "aria-labelledby": id, role: role === "dialog" ? null : role });
  return new Promise((resolve) => {
    let result;
    const close = (value) => {
      result = value;
      dialog.close();
    };
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (opener && opener.isConnected) opener.focus();
      resolve(result);
    });
    dialog.append(el("h2", { id, text: title }), ...build(close));
    document.body.append(dialog);
    dialog.showModal();
    const first = dialog.querySelector("[autofocus], input, textarea, button");
    if (first) first.focus();
  });
}

/** Asks before something that cannot be undone; resolves true when confirmed. */
export function confirmDialog({ title, text, confirm, danger = true }) {
  return openDialog({
    title,
    role: "alertdialog",
    build: (close) => [
      el("p", { text }),
      el("div", { class: "dialog-buttons" },
        el("button", { type: "button", class: "secondary", autofocus: true, text: "Cancel",
          onclick: () => close(false) }),
        el("button", { type: "button", class: danger ? "danger" : "primary", "data-confirm": "",
          text: confirm, onclick: () => close(true) })),
    ],
  }).then((value) => value === true);
}

/** A secret shown once, with a copy button and the warning that it will not be shown again. */
export function secretDialog({ title, label, secret, lead }) {
  return openDialog({
    title,
    build: (close) => {
      const field = el("input", { type: "text", id: "shown-secret", readonly: true, value: secret,
        spellcheck: "false", autocomplete: "off", "aria-describedby": "secret-warning" });
      const status = el("span", { role: "status", class: "muted", id: "copy-status" });
      return [
        lead ? el("p", { text: lead }) : null,
        el("label", { for: "shown-secret", text: label }),
        el("div", { class: "secret" },
          field,
          el("button", { type: "button", class: "secondary", id: "copy-secret", text: "Copy",
            onclick: () => copyText(field, status) })),
        status,
        el("p", { class: "notice", id: "secret-warning",
          text: "This is the only time it is shown: copy it now. Only a hash of it is kept, so it cannot be shown again." }),
        el("div", { class: "dialog-buttons" },
          el("button", { type: "button", class: "primary", text: "Done", onclick: () => close(true) })),
      ];
    },
  });
}

async function copyText(field, status) {
  field.select();
  try {
    await navigator.clipboard.writeText(field.value);
  } catch {
    // No clipboard permission (an insecure origin, a locked-down browser): the text is
    // selected, so the person can copy it with the keyboard.
    if (!document.execCommand("copy")) {
      status.textContent = "Could not copy: the text is selected, press Ctrl+C (⌘C).";
      return;
    }
  }
  status.textContent = "Copied.";
}

// --- tables -------------------------------------------------------------------------------

/** A table whose cells carry their column's name (phones show it beside each cell). */
/**
 * A section's messages, in the element `boxId`: `tell(kind, ...lines)` shows them (an alert
 * when `kind` is "bad", else a status) and moves focus there; `guarded(view, work)` runs a
 * change and tells why it failed, or asks to sign in again when the session ended.
 */
export function messenger(boxId) {
  function tell(kind, ...lines) {
    const box = document.getElementById(boxId);
    if (!box) return;
    box.replaceChildren(el("div", { class: `notice ${kind}`, role: kind === "bad" ? "alert" : "status" },
      lines.map((line) => el("p", {}, line))));
    box.focus();
  }

  async function guarded(view, work) {
    try {
      await work();
    } catch (error) {
      if (error instanceof SignedOut) return view.ctx.signIn(error.message);
      tell("bad", error instanceof ApiError && error.detail ? error.detail : error.message);
    }
  }

  return { tell, guarded };
}

export function table(columns, rows, id, numeric) {
  return el("table", { id },
    el("thead", {}, el("tr", {}, columns.map((c, i) => el("th", { scope: "col", class: numeric[i] ? "num" : null, text: c })))),
    el("tbody", {}, rows));
}

export function row(columns, cells, numeric) {
  return el("tr", {}, cells.map((cell, i) =>
    el("td", { "data-label": columns[i], class: numeric[i] ? "num" : null }, cell)));
}
