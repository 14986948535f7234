// Follows a pending order until it is decided, by polling its status JSON (never the
// confirm step: a page that follows an order must not notify the shop again).
//
// - The order page (data-on-change="reload") reloads: the server renders the story.
// - The done page swaps in the panel of the final state, rendered by the server
//   (data-panel-url), with what the customer can do next.
// - The checkout page does the same, and the form gives way to the outcome
//   (data-replaces): the order may be paid by Avarda's server-side callback while
//   the browser's done() comes late or never. When done() does come, the page says
//   "Confirming your payment…" at once, while the browser goes to the done page.
"use strict";

(() => {
  const section = document.getElementById("order-status");
  if (!section || section.dataset.state !== "pending") return;

  const replaced = section.dataset.replaces
    ? document.getElementById(section.dataset.replaces)
    : null;
  const slowAfterMs = 3 * 60 * 1000;
  const started = Date.now();
  let delay = 1000;
  let timer = 0;
  let finished = false;

  function setCartCount(count) {
    document.querySelectorAll(".badge[data-cart-count]").forEach((badge) => {
      badge.textContent = String(count);
    });
    document.querySelectorAll("[data-cart-words]").forEach((words) => {
      words.textContent = `(${count} item${count === 1 ? "" : "s"})`;
    });
  }

  function show(html, state) {
    finished = true;
    window.clearTimeout(timer);
    section.innerHTML = html;
    section.dataset.state = state;
    const panel = section.querySelector("[data-cart-items]");
    if (panel) setCartCount(Number(panel.dataset.cartItems));
    if (replaced) {
      replaced.remove();
      const title = section.querySelector(".status-title");
      if (title) title.focus();
    }
  }

  async function decided(state) {
    if (section.dataset.onChange === "reload") {
      finished = true;
      window.location.reload();
      return true;
    }
    const response = await fetch(section.dataset.panelUrl, {
      headers: { Accept: "text/html" },
      cache: "no-store",
    });
    if (!response.ok) return false;
    show(await response.text(), state);
    return true;
  }

  async function poll() {
    if (finished) return;
    if (document.hidden) return; // resumed by visibilitychange
    try {
      const response = await fetch(section.dataset.statusUrl, {
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if (response.ok) {
        const { state } = await response.json();
        if (state !== "pending" && (await decided(state))) return;
      }
    } catch (error) {
      // Offline for a moment: keep polling.
    }
    if (finished) return;
    if (Date.now() - started > slowAfterMs) {
      const slow = section.querySelector("[data-slow]");
      if (slow) slow.hidden = false;
      delay = 15000;
    } else {
      delay = Math.min(delay * 1.5, 4000);
    }
    timer = window.setTimeout(poll, delay);
  }

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && !finished) {
      window.clearTimeout(timer);
      poll();
    }
  });

  // The checkout page: Avarda's client called done(); the browser is on its way to the
  // done page, which asks Avarda. Until it arrives, say so instead of showing the form.
  const confirming = document.getElementById("order-status-confirming");
  if (confirming && replaced) {
    document.addEventListener("avarda:done", () => {
      if (finished) return;
      finished = true;
      window.clearTimeout(timer);
      section.replaceChildren(confirming.content.cloneNode(true));
      replaced.hidden = true;
    });
  }

  timer = window.setTimeout(poll, delay);
})();
