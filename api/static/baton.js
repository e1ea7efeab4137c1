// The pages' own script: a static file, because the Content-Security-Policy allows no inline script and no eval.

// ---- Polls and actions morph the page (idiomorph) and never touch what someone is working on -------------------
// A field someone typed in or changed keeps its value through every poll until its form is sent; the focused
// element is never replaced. (Idiomorph's own `ignoreActiveValue` covers only the focused field.)
const edited = new WeakSet();
const isField = (node) => node instanceof HTMLInputElement || node instanceof HTMLTextAreaElement || node instanceof HTMLSelectElement;
document.addEventListener("input", (event) => { if (isField(event.target)) edited.add(event.target); });
document.addEventListener("change", (event) => { if (isField(event.target)) edited.add(event.target); });

if (window.Idiomorph) {
  Idiomorph.defaults.ignoreActiveValue = true;
  Idiomorph.defaults.callbacks.beforeNodeMorphed = (oldNode) => {
    if (edited.has(oldNode)) return false;
    return !(isField(oldNode) && oldNode === document.activeElement);
  };
  // Left as the user set them: the short-pick warning (shown as the typed quantities decide; the server renders it
  // hidden) and every drawer someone opened or closed.
  Idiomorph.defaults.callbacks.beforeAttributeUpdated = (attribute, element) =>
    !(attribute === "hidden" && element.hasAttribute("data-short-pick")) &&
    !(attribute === "open" && element instanceof HTMLDetailsElement);
}

// ---- Pick Manager: warn before a short pick, and ask why ----------------------------------------------------
function checkShortPick(form) {
  const warning = form.querySelector("[data-short-pick]");
  if (!warning) return;
  const short = [...form.querySelectorAll("input.picked")].some((input) => Number(input.value) < Number(input.dataset.ordered));
  warning.hidden = !short;
  warning.querySelector("select")?.toggleAttribute("required", short);
}
document.addEventListener("input", (event) => {
  if (event.target.matches?.("input.picked")) checkShortPick(event.target.form);
});

// A form that was sent takes what the server answers from then on (its fields are no longer "edited"), unless the
// answer keeps what was typed (a refusal or a correction: header X-Baton-Kept), so polls never wipe it.
document.addEventListener("htmx:beforeSwap", (event) => {
  const form = event.detail.requestConfig?.elt?.closest?.("form");
  if (!form || event.detail.requestConfig.verb === "get") return;
  if (event.detail.xhr.getResponseHeader("X-Baton-Kept") === "yes") return;
  for (const field of form.elements) edited.delete(field);
});

// ---- A confirmation step before actions that move money or cancel (no window.confirm, no eval) ----------------
// An element with data-confirm asks in the page, next to the button: "Yes" sends the request, "Go back" does not.
document.addEventListener("htmx:confirm", (event) => {
  const elt = event.detail.elt;
  const question = elt.getAttribute("data-confirm");
  if (!question || elt.dataset.confirmed === "yes") {
    delete elt.dataset.confirmed;
    return;
  }
  event.preventDefault();
  const form = elt.closest("form") || elt.parentElement;
  if (form.querySelector(".confirm-step")) return;
  if (form instanceof HTMLFormElement && !form.reportValidity()) return;
  const step = document.createElement("div");
  step.className = "confirm-step";
  step.setAttribute("role", "alertdialog");
  step.setAttribute("aria-modal", "false");
  const text = document.createElement("p");
  text.id = `confirm-${Math.random().toString(36).slice(2)}`;
  const amount = form.querySelector("input[inputmode=decimal]");
  text.textContent = amount && amount.value ? `${question} (${amount.dataset.currency || ""} ${amount.value})` : question;
  step.setAttribute("aria-labelledby", text.id);
  const yes = document.createElement("button");
  yes.type = "button";
  yes.className = "danger confirm-yes";
  yes.textContent = elt.getAttribute("data-confirm-yes") || "Yes, do it";
  const no = document.createElement("button");
  no.type = "button";
  no.className = "secondary confirm-no";
  no.textContent = "Go back";
  step.append(text, yes, no);
  form.append(step);
  yes.focus();
  yes.addEventListener("click", () => { step.remove(); event.detail.issueRequest(true); });
  no.addEventListener("click", () => { step.remove(); elt.focus?.(); });
  step.addEventListener("keydown", (key) => { if (key.key === "Escape") no.click(); });
});

// ---- Times: local time, UTC on hover; countdowns to deadlines ------------------------------------------------
const localFormat = new Intl.DateTimeFormat(undefined, {dateStyle: "medium", timeStyle: "short"});

function span(ms) {
  const minutes = Math.round(Math.abs(ms) / 60000);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

function showTimes(root) {
  for (const el of root.querySelectorAll("time[data-local]")) {
    const at = new Date(el.getAttribute("datetime"));
    if (!isNaN(at)) el.textContent = localFormat.format(at);
  }
  const now = Date.now();
  for (const el of root.querySelectorAll("time[data-countdown]")) {
    const left = new Date(el.getAttribute("datetime")).getTime() - now;
    if (!isNaN(left)) el.textContent = left >= 0 ? `in ${span(left)}` : `${span(left)} overdue`;
  }
  for (const el of root.querySelectorAll("time[data-age]")) {
    const age = now - new Date(el.getAttribute("datetime")).getTime();
    if (!isNaN(age)) el.textContent = span(age);
  }
}

document.addEventListener("DOMContentLoaded", () => showTimes(document));
document.addEventListener("htmx:afterSettle", () => showTimes(document));
setInterval(() => showTimes(document), 30000);

// ---- Results where the user is ------------------------------------------------------------------------------
// An action's result sits above the form that was sent, and in the toast: bring the banner into sight.
document.addEventListener("htmx:afterSettle", () => {
  const result = document.querySelector("[data-scroll-into-view]");
  result?.removeAttribute("data-scroll-into-view");
  result?.scrollIntoView({block: "nearest"});
});

document.addEventListener("click", (event) => {
  const dismiss = event.target.closest?.("[data-dismiss]");
  if (dismiss) document.getElementById(dismiss.getAttribute("data-dismiss"))?.replaceChildren();
});
