// While an order is pending, poll its status JSON until it is final. Then either
// reload the page (data-on-change="reload", the order page: the server renders the
// new state and timeline) or update the panel in place (the done page, which must
// not re-run the confirm step). The texts below mirror the status_panel macro in
// templates/_macros.html; keep them in step.
"use strict";

(() => {
  const panel = document.getElementById("order-status");
  if (!panel || panel.dataset.state !== "pending") return;

  const url = panel.dataset.statusUrl;
  const title = panel.querySelector(".status-title");
  const detail = panel.querySelector(".status-detail");
  const icon = panel.querySelector(".status-icon");
  const texts = {
    paid: ["Payment confirmed", "Thank you! Your order is paid and a confirmation e-mail is on its way.", "✓"],
    on_hold: [
      "Payment received, order on hold",
      "Your payment was received, and our staff are reviewing the order before we ship it. " +
        "We will be in touch.",
      "!",
    ],
    failed: [
      "Payment not completed",
      "Avarda reports that the payment was not completed (declined, cancelled or timed out). " +
        "Nothing has been charged; your cart is kept so you can try again.",
      "✕",
    ],
  };
  const giveUpAfterMs = 10 * 60 * 1000;
  const started = Date.now();
  let delay = 1000;

  function show(state) {
    const text = texts[state];
    if (!text) return false;
    if (panel.dataset.onChange === "reload") {
      window.location.reload();
      return true;
    }
    panel.className = "status status-" + state;
    panel.dataset.state = state;
    [title.textContent, detail.textContent, icon.textContent] = text;
    return true;
  }

  async function poll() {
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (response.ok && show((await response.json()).state)) return;
    } catch (error) {
      // Offline for a moment: keep polling.
    }
    if (Date.now() - started > giveUpAfterMs) {
      detail.textContent =
        "This is taking longer than usual. We keep checking with Avarda in the background; " +
        "reload this page later or keep the link to your order.";
      return;
    }
    delay = Math.min(delay * 1.5, 5000);
    window.setTimeout(poll, delay);
  }

  window.setTimeout(poll, delay);
})();
