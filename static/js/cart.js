// Cart page: a changed quantity is saved without reloading the page, and focus stays
// where it is (WCAG 3.2.2: changing a value must not move the customer elsewhere).
//
// Typing or stepping a quantity saves it once the customer pauses; Update (or Enter)
// saves it at once. The form is posted as usual; the server answers with the cart page
// (post/redirect/get), and the parts that depend on quantities are copied from it: line
// totals, stock notes, totals, the checkout button, the messages and the header badge.
// When a line comes or goes (quantity 0), the whole cart is replaced and focus moves to
// its heading. Without JavaScript the Update buttons reload the page.
"use strict";

(() => {
  const main = document.getElementById("main");
  if (!main || !main.querySelector("[data-cart]") || !window.fetch || !window.DOMParser) return;
  const pauseMs = 700;
  const timers = new WeakMap();
  let queue = Promise.resolve();

  function quantityForm(target) {
    const form = target && target.closest && target.closest("form.js-quantity");
    return form && main.contains(form) ? form : null;
  }

  function copy(selector, from, to) {
    const source = from.querySelector(selector);
    const target = to.querySelector(selector);
    if (source && target) target.innerHTML = source.innerHTML;
  }

  function sameLines(doc) {
    const skus = (root) => [...root.querySelectorAll("tr[data-sku]")].map((tr) => tr.dataset.sku);
    return skus(doc).join(" ") === skus(document).join(" ");
  }

  function apply(doc, form, sent) {
    const newMain = doc.getElementById("main");
    if (!newMain) throw new Error("not a shop page");
    copy(".flash-region", newMain, main);
    copy("[data-cart-count]", doc, document);
    copy("[data-cart-words]", doc, document);
    if (!newMain.querySelector("[data-cart]") || !sameLines(doc)) {
      main.replaceChildren(...newMain.childNodes);
      const heading = document.getElementById("cart-heading");
      if (heading) heading.focus();
      return;
    }
    doc.querySelectorAll("tr[data-sku]").forEach((row) => {
      const mine = main.querySelector(`tr[data-sku="${CSS.escape(row.dataset.sku)}"]`);
      copy("[data-line-total]", row, mine);
      copy("[data-stock-note]", row, mine);
      const input = mine.querySelector("input[name=quantity]");
      const value = row.querySelector("input[name=quantity]").value;
      // The server may have capped the quantity at the stock; never overwrite typing.
      const typing = mine.contains(form) ? input.value !== sent : document.activeElement === input;
      if (!typing) input.value = value;
    });
    copy("[data-totals]", newMain, main);
    copy("[data-cart-actions]", newMain, main);
  }

  function save(form) {
    window.clearTimeout(timers.get(form));
    const input = form.querySelector("input[name=quantity]");
    if (!input.checkValidity()) return;
    const sent = input.value;
    queue = queue.then(async () => {
      if (!document.contains(form)) return;
      input.setAttribute("aria-busy", "true");
      try {
        const response = await fetch(form.action, {
          method: "POST",
          body: new FormData(form),
          headers: { Accept: "text/html" },
          credentials: "same-origin",
        });
        if (!response.ok) throw new Error(String(response.status));
        apply(new DOMParser().parseFromString(await response.text(), "text/html"), form, sent);
      } catch (error) {
        form.submit(); // the server says what went wrong (an expired form, say)
      } finally {
        input.removeAttribute("aria-busy");
      }
    });
  }

  main.addEventListener("input", (event) => {
    const form = quantityForm(event.target);
    if (!form) return;
    window.clearTimeout(timers.get(form));
    timers.set(form, window.setTimeout(() => save(form), pauseMs));
  });

  main.addEventListener("submit", (event) => {
    const form = quantityForm(event.target);
    if (!form) return;
    event.preventDefault();
    if (form.reportValidity()) save(form);
  });
})();
