// The pages' own script: a static file, because the Content-Security-Policy allows no inline script and no eval.

// An action's result sits above the form that was sent: bring it into sight after the page is swapped.
document.addEventListener("htmx:afterSettle", () => {
  const result = document.querySelector("[data-scroll-into-view]");
  result?.removeAttribute("data-scroll-into-view");
  result?.scrollIntoView({block: "nearest"});
});

// A list that polls (the Pick Manager) skips a refresh while someone is typing in one of its inputs, so the
// swap does not wipe what they typed. (Once an htmx trigger filter, which needs eval.)
document.addEventListener("htmx:beforeRequest", (event) => {
  const polling = event.detail.elt;
  const typing = document.activeElement;
  if (polling.hasAttribute("data-poll-unless-typing") && typing?.tagName === "INPUT" && polling.contains(typing)) {
    event.preventDefault();
  }
});
