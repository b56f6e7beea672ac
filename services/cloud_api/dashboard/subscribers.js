// Visual Studio subscribers on the persons page: how many matched a person, and the ones
// matched to nobody (they consume no license until their GitHub account is linked).
import { count, el, row, table } from "./common.js";

const COLUMNS = ["UPN", "Subscription"];
const NUMERIC = [false, false];

export function subscribersSection(ctx, summary) {
  const section = el("section", { id: "vs-subscribers", "aria-labelledby": "vs-subscribers-title" },
    el("h2", { id: "vs-subscribers-title", text: "Visual Studio subscribers" }),
    el("div", { id: "vs-subscribers-body" }));
  show(ctx, summary.enterprise);
  return section;
}

async function show(ctx, slug) {
  const answer = await ctx.json(`/enterprises/${slug}/visual-studio-subscriptions?matched=false`);
  const body = document.getElementById("vs-subscribers-body");
  if (!body) return;
  if (!answer.total) {
    body.replaceChildren(el("p", { class: "muted", id: "vs-summary",
      text: "No Visual Studio subscribers imported (PUT /enterprises/{enterprise}/visual-studio-subscriptions)." }));
    return;
  }
  const rows = answer.subscribers.map((s) => row(COLUMNS, [s.upn, s.subscription], NUMERIC));
  body.replaceChildren(
    el("p", { id: "vs-summary", text: `${count(answer.total)} subscribers: ${count(answer.matched)} matched to a ` +
      `person (license type “Visual Studio subscription”), ${count(answer.unmatched)} matched to nobody.` }),
    rows.length
      ? el("div", {},
        el("h3", { text: "Matched to nobody" }),
        el("p", { class: "muted", text: "No verified cloud e-mail (or, with SAML, identity) and no GHES-only " +
          "primary e-mail equals their UPN. They consume no license; link their GitHub account to count them." }),
        table(COLUMNS, rows, "vs-unmatched", NUMERIC))
      : null);
}
