// Cart page: a changed quantity is saved at once (the Update buttons remain for
// keyboard users and for browsers without JavaScript).
"use strict";

document.querySelectorAll("form.js-quantity").forEach((form) => {
  const input = form.querySelector("input[name=quantity]");
  if (!input) return;
  const original = input.value;
  input.addEventListener("change", () => {
    if (input.value === original || !input.checkValidity()) return;
    input.setAttribute("aria-busy", "true");
    form.requestSubmit();
  });
});
