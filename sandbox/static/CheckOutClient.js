/*
 * CheckOutClient.js — the Avarda sandbox's Checkout 2.0 browser client (hand-written).
 *
 * AvardaCheckOutClient.init(options) renders the checkout form (served by the sandbox) in
 * an iframe inside options.divId; AvardaCheckOutClient.updateItems() makes the form re-read
 * the cart after the shop called UpdateItems on the server.
 *
 * The options are Avarda's: done(purchaseId) once the customer is done with the form and
 * a result exists, whether the payment succeeded or not; beforeSubmit(); the hooks
 * beforeCompleteHook(result, purchaseId) with result.message = {type: "question",
 * question: "beforeCompleteHook", data: {externalId, selectedPaymentMethod, deliveryZip,
 * deliveryCountry}} and updateDeliveryAddressHook(result, customerInfo) with customerInfo =
 * {FirstName, LastName, Address, ZipCode, City, Country}; each hook must call
 * result.continue() or result.cancel(customMessage).
 *
 * The page and the iframe talk by postMessage only, and both sides check the other's
 * origin: the page accepts messages only from the sandbox origin this script was loaded
 * from and from its own iframe; the iframe accepts messages only from the page's origin.
 * Unknown options are ignored, as with Avarda's own script.
 */
(function (window, document) {
  "use strict";

  var script = document.currentScript;
  var scriptSrc = script && script.src ? script.src : "";
  var base = scriptSrc.replace(/\/Scripts\/CheckOutClient\.js(\?.*)?$/i, "");
  var sandboxOrigin = scriptSrc ? new URL(scriptSrc).origin : "";

  var current = null; // {options, iframe, purchaseId}

  function fail(message) {
    throw new Error("AvardaCheckOutClient: " + message);
  }

  function send(message) {
    if (current && current.iframe.contentWindow) {
      message.avarda = true;
      current.iframe.contentWindow.postMessage(message, sandboxOrigin);
    }
  }

  function reply(id, ok, text) {
    send({ type: "hookResult", id: id, ok: ok, message: text || "" });
  }

  /*
   * Run a continue/cancel hook as Avarda documents it: hook(result, ...args) where result
   * has continue(), cancel(customMessage) and, for beforeCompleteHook, result.message.
   * Exactly one answer reaches the iframe; a hook that throws cancels (with the form's
   * default message).
   */
  function runHook(hook, id, args, message) {
    if (typeof hook !== "function") {
      reply(id, true);
      return;
    }
    var answered = false;
    var result = {
      "continue": function () {
        if (!answered) { answered = true; reply(id, true); }
      },
      cancel: function (customMessage) {
        if (!answered) {
          answered = true;
          reply(id, false, typeof customMessage === "string" ? customMessage : "");
        }
      }
    };
    if (message !== undefined) { result.message = message; }
    try {
      hook.apply(null, [result].concat(args));
    } catch (error) {
      if (window.console) { window.console.error(error); }
      result.cancel();
    }
  }

  function onMessage(event) {
    if (!current || event.origin !== sandboxOrigin || event.source !== current.iframe.contentWindow) {
      return;
    }
    var msg = event.data;
    if (!msg || msg.avarda !== true || msg.purchaseId !== current.purchaseId) {
      return;
    }
    var options = current.options;
    switch (msg.type) {
      case "resize":
        current.iframe.style.height = Math.max(200, Number(msg.height) || 0) + "px";
        break;
      case "beforeSubmit":
        var ok = true;
        if (typeof options.beforeSubmit === "function") {
          try {
            ok = options.beforeSubmit() !== false;
          } catch (error) {
            if (window.console) { window.console.error(error); }
            ok = false;
          }
        }
        reply(msg.id, ok);
        break;
      case "beforeComplete":
        runHook(options.beforeCompleteHook, msg.id, [current.purchaseId], {
          type: "question",
          question: "beforeCompleteHook",
          data: msg.data || {}
        });
        break;
      case "deliveryAddress":
        runHook(options.updateDeliveryAddressHook, msg.id, [msg.customerInfo || {}]);
        break;
      case "redirect":
        if (/^https?:\/\//i.test(String(msg.url))) {
          window.location.href = msg.url;
        }
        break;
      case "done":
        options.done(current.purchaseId);
        break;
    }
  }

  function init(options) {
    if (!options || typeof options !== "object") { fail("init(options) needs an options object"); }
    if (!options.divId) { fail("options.divId is required"); }
    if (!options.purchaseId) { fail("options.purchaseId is required"); }
    if (typeof options.done !== "function") { fail("options.done must be a function"); }
    if (!base) { fail("cannot tell where CheckOutClient.js was loaded from"); }
    var container = document.getElementById(options.divId);
    if (!container) { fail("no element with id '" + options.divId + "'"); }

    var params = new URLSearchParams();
    params.set("origin", window.location.origin);
    if (options.callbackUrl) {
      params.set("callbackUrl", new URL(options.callbackUrl, window.location.href).href);
    }
    if (options.purchaseCompletedCallbackUrl) {
      params.set("purchaseCompletedCallbackUrl", String(options.purchaseCompletedCallbackUrl));
    }
    if (options.customCssUrl) {
      params.set("customCssUrl", new URL(options.customCssUrl, window.location.href).href);
    }
    if (options.replaceDefaultCss) { params.set("replaceDefaultCss", "1"); }

    var iframe = document.createElement("iframe");
    iframe.id = "avarda-checkout-frame";
    iframe.name = "avarda-checkout";
    iframe.title = "Avarda Checkout";
    iframe.src = base + "/Checkout/" + encodeURIComponent(String(options.purchaseId)) + "?" + params;
    iframe.style.width = "100%";
    iframe.style.minHeight = "200px";
    iframe.style.height = "640px";
    iframe.style.border = "0";

    current = { options: options, iframe: iframe, purchaseId: String(options.purchaseId).toLowerCase() };
    while (container.firstChild) { container.removeChild(container.firstChild); }
    container.appendChild(iframe);
  }

  function updateItems() {
    send({ type: "updateItems" });
  }

  window.addEventListener("message", onMessage);
  window.AvardaCheckOutClient = { init: init, updateItems: updateItems };
})(window, document);
