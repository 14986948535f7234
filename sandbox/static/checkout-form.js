/*
 * The checkout form inside the iframe. Talks to CheckOutClient.js in the shop's page by
 * postMessage (to the page's origin only, and only listening to it), and to the sandbox
 * by fetch. The browser's done() is requested only after the sandbox committed a result:
 * Completed, or a failure (Error, timed out, cancelled). A declined step brings the
 * customer back here to choose another method, with no done().
 */
(function (window, document) {
  "use strict";

  /* Avarda's message when a hook cancels without one of its own. */
  var DEFAULT_CANCEL = "Order could not be confirmed. Please reload shopping cart.";
  var IN_CHECKOUT = [0, 1];

  var root = document.getElementById("checkout");
  if (!root) { return; }
  var purchaseId = root.dataset.purchaseId;
  var parentOrigin = root.dataset.parentOrigin;
  var form = document.getElementById("checkout-form");
  var errorBox = document.getElementById("checkout-error");
  var noticeBox = document.getElementById("checkout-notice");
  var button = document.getElementById("complete-purchase");
  var toggle = document.getElementById("different-delivery");
  var deliveryFields = document.getElementById("delivery-fields");
  var pending = {};
  var nextId = 1;
  /* The shop's verdict on the latest delivery address; a submit waits for it. */
  var addressCheck = Promise.resolve({ ok: true, message: "" });

  function post(message) {
    message.avarda = true;
    message.purchaseId = purchaseId;
    window.parent.postMessage(message, parentOrigin);
  }

  /* Ask the page something and wait for its hookResult. */
  function ask(type, extra) {
    return new Promise(function (resolve) {
      var id = nextId++;
      pending[id] = resolve;
      var message = extra || {};
      message.type = type;
      message.id = id;
      post(message);
    });
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== parentOrigin || event.source !== window.parent) { return; }
    var msg = event.data;
    if (!msg || msg.avarda !== true) { return; }
    if (msg.type === "hookResult" && pending[msg.id]) {
      var resolve = pending[msg.id];
      delete pending[msg.id];
      resolve({ ok: msg.ok === true, message: msg.message || "" });
    } else if (msg.type === "updateItems") {
      refreshSummary();
    }
  });

  function showError(text) {
    errorBox.textContent = text || "";
    errorBox.hidden = !text;
    resize();
  }

  function showNotice(text) {
    noticeBox.textContent = text;
    noticeBox.hidden = false;
    if (form) { form.hidden = true; }
    resize();
  }

  /* The frame fits the content: measured on the page's main element, since the
     document itself is at least as tall as the frame and could never shrink it. */
  var main = document.querySelector("main") || document.body;
  function resize() {
    var style = window.getComputedStyle(main);
    var height = main.getBoundingClientRect().height +
      parseFloat(style.marginTop) + parseFloat(style.marginBottom);
    post({ type: "resize", height: Math.ceil(height) });
  }

  function jsonPost(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body || {}),
      credentials: "omit"
    }).then(function (response) {
      return response.json().catch(function () {
        return { status: "failed", message: "The checkout is unavailable (" + response.status + ")." };
      });
    });
  }

  function refreshSummary() {
    fetch(root.dataset.summaryUrl, { credentials: "omit" })
      .then(function (response) { return response.json(); })
      .then(function (summary) {
        var total = document.getElementById("checkout-total");
        if (total) { total.textContent = summary.priceText; }
        var list = document.getElementById("checkout-items");
        if (list) {
          while (list.firstChild) { list.removeChild(list.firstChild); }
          summary.items.forEach(function (item) {
            var li = document.createElement("li");
            var name = document.createElement("span");
            var amount = document.createElement("span");
            name.textContent = item.Description || "";
            amount.className = "amount";
            amount.textContent = item.AmountText;
            li.appendChild(name);
            li.appendChild(document.createTextNode(" "));
            li.appendChild(amount);
            list.appendChild(li);
          });
        }
        resize();
      });
  }

  /* The customer is done with the form: call done(), now or after the injected delay. */
  function finish(result, text) {
    if (!result.callDone) {
      if (text) { showNotice(text); }
      return;
    }
    if (result.doneDelaySeconds > 0) {
      showNotice(result.notice || text);
      window.setTimeout(function () { post({ type: "done" }); }, result.doneDelaySeconds * 1000);
    } else {
      if (text) { showNotice(text); }
      post({ type: "done" });
    }
  }

  /* What the sandbox answered: finish, go to the external step, or show a problem. */
  function handle(result) {
    if (result.status === "completed") {
      finish(result, "Purchase completed.");
    } else if (result.status === "redirect") {
      showNotice("Redirecting you to complete the payment…");
      post({ type: "redirect", url: result.url });
    } else if (result.status === "waiting") {
      showError(result.message);
      var link = document.getElementById("continue-external");
      link.hidden = false;
      link.onclick = function () { post({ type: "redirect", url: result.url }); };
      if (form) { form.hidden = true; }
    } else if (result.status === "form") {
      if (form) { form.hidden = false; }
      showError(result.message || "");
      if (result.message) { errorBox.focus(); }
      if (button) { button.disabled = false; }
    } else if (result.status === "invalid") {
      var marked = markFields(result.fields || {});
      showError(marked ? "" : (result.errors || []).join(" "));
      button.disabled = false;
    } else {
      if (form) { form.hidden = true; }
      showError(result.message || "The payment failed.");
      if (result.callDone !== undefined) { finish(result, ""); }
    }
  }

  function separateDelivery() {
    return Boolean(toggle && toggle.checked);
  }

  function customer() {
    var data = {};
    Array.prototype.forEach.call(form.querySelectorAll("[data-field]"), function (input) {
      data[input.dataset.field] = input.value;
    });
    data.UseDifferentDeliveryAddress = separateDelivery();
    return data;
  }

  function selected() {
    return form.querySelector("input[name=paymentMethod]:checked") ||
      form.querySelector("input[name=paymentMethod]");
  }

  /* Where the goods go: the delivery address if there is one, else the invoicing one. */
  function goodsAddress() {
    var data = customer();
    var prefix = separateDelivery() ? "Delivery" : "Invoicing";
    var line2 = data[prefix + "AddressLine2"];
    return {
      FirstName: data[prefix + "FirstName"] || "",
      LastName: data[prefix + "LastName"] || "",
      Address: (data[prefix + "AddressLine1"] || "") + (line2 ? ", " + line2 : ""),
      ZipCode: data[prefix + "Zip"] || "",
      City: data[prefix + "City"] || "",
      Country: root.dataset.country || ""
    };
  }

  /*
   * A change event comes on leaving the field, so often just before the submit that the
   * same click causes: the submit therefore waits for this answer rather than reading a
   * verdict that may be stale. A newer change supersedes an older, still unanswered one.
   */
  function onAddressChange() {
    var check = ask("deliveryAddress", { customerInfo: goodsAddress() });
    addressCheck = check;
    check.then(function (answer) {
      if (addressCheck === check) { showError(answer.ok ? "" : answer.message || DEFAULT_CANCEL); }
    });
  }

  /* The customer's mistakes, next to their fields, in the words the form carries
     (data-missing, data-wrong); focus goes to the first. Returns how many. */
  function fieldError(input, why) {
    var note = document.getElementById(input.id + "-error");
    if (!note) { return; }
    if (why) {
      note.textContent = why === "missing" ? input.dataset.missing : input.dataset.wrong;
      note.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", note.id);
    } else {
      note.textContent = "";
      note.hidden = true;
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    }
  }

  function markFields(fields) {
    var first = null;
    Array.prototype.forEach.call(form.querySelectorAll("[data-field]"), function (input) {
      var why = fields[input.dataset.field];
      fieldError(input, why);
      if (why && !first) { first = input; }
    });
    if (first) { first.focus(); }
    resize();
    return first ? Object.keys(fields).length : 0;
  }

  function digits(text) {
    return text.replace(/\s/g, "").length;
  }

  /* What the browser can tell before asking the sandbox (which checks again). */
  function problems() {
    var found = {};
    Array.prototype.forEach.call(form.querySelectorAll("[data-field]"), function (input) {
      if (input.readOnly || input.closest("[hidden]")) { return; }
      var value = input.value.trim();
      if (input.required && !value) {
        found[input.dataset.field] = "missing";
      } else if (value && (!input.checkValidity() ||
                           (input.type === "tel" && digits(value) > 15))) {
        found[input.dataset.field] = "wrong";
      }
    });
    return found;
  }

  function onSubmit(event) {
    event.preventDefault();
    showError("");
    if (markFields(problems())) { return; }
    button.disabled = true;
    var choice = selected();
    var body = customer();
    body.PaymentMethod = choice.value;
    var address = goodsAddress();
    addressCheck.then(function (verdict) {
      if (!verdict.ok) {
        showError(verdict.message || DEFAULT_CANCEL);
        return null;
      }
      return ask("beforeSubmit");
    }).then(function (answer) {
      if (!answer || !answer.ok) { return null; }
      return ask("beforeComplete", {
        data: {
          externalId: purchaseId,
          selectedPaymentMethod: choice.dataset.hookName,
          deliveryZip: address.ZipCode,
          deliveryCountry: address.Country
        }
      });
    }).then(function (answer) {
      if (!answer) { button.disabled = false; return; }
      if (!answer.ok) {
        showError(answer.message || DEFAULT_CANCEL);
        button.disabled = false;
        return;
      }
      return jsonPost(root.dataset.completeUrl, body).then(handle);
    }).catch(function () {
      showError("The checkout is unavailable. Please try again.");
      button.disabled = false;
    });
  }

  if (form) {
    form.addEventListener("submit", onSubmit);
    /* A field's error goes once it is put right. */
    form.addEventListener("input", function (event) {
      var input = event.target;
      if (input.dataset && input.dataset.field && input.getAttribute("aria-invalid")) {
        var left = problems()[input.dataset.field];
        if (!left) { fieldError(input, null); resize(); }
      }
    });
    Array.prototype.forEach.call(form.querySelectorAll("[data-address]"), function (input) {
      input.addEventListener("change", function () {
        /* The invoicing address matters only while the goods go there. */
        var delivery = input.dataset.field.indexOf("Delivery") === 0;
        if (delivery === separateDelivery()) { onAddressChange(); }
      });
    });
    if (toggle && deliveryFields) {
      toggle.addEventListener("change", function () {
        deliveryFields.hidden = !toggle.checked;
        var inputs = deliveryFields.querySelectorAll("input");
        if (!toggle.checked) {
          Array.prototype.forEach.call(inputs, function (i) { i.value = ""; });
        }
        resize();
        /* Unticked, the goods go to the invoicing address: a changed delivery address. */
        var filled = Array.prototype.some.call(inputs, function (i) { return i.value !== ""; });
        if (!toggle.checked || filled) { onAddressChange(); }
      });
    }
  }

  /* init again for a purchase that left the form (an external step, a result): ask. */
  var state = Number(root.dataset.state);
  if (IN_CHECKOUT.indexOf(state) === -1) {
    if (form) { form.hidden = true; }
    jsonPost(root.dataset.resumeUrl, {}).then(handle);
  }
  window.addEventListener("load", resize);
  if (window.ResizeObserver) { new window.ResizeObserver(resize).observe(main); }
  resize();
})(window, document);
