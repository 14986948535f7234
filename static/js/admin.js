// The back office's one script: a plain confirmation step before an action form is
// sent (forms with data-confirm), and no second click while it is being sent. Without
// JavaScript the forms still work; the server ignores a second submission anyway.
"use strict";

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  const question = form.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  for (const button of form.querySelectorAll("button[type=submit]")) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
  }
});

// After an action the page shows its outcome: move the focus there for screen readers.
const outcome = document.getElementById("outcome");
if (outcome) outcome.focus();
