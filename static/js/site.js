// Every page: times in the reader's own time zone, and wide tables that scroll inside
// their box reachable by keyboard. Both only improve what the server rendered.
"use strict";

(() => {
  // <time datetime="…UTC…" data-local="datetime|time|time-ms">2026-12-01 20:48:09 UTC</time>
  // becomes "1 Dec 2026, 21:48:09 CET" (in the browser's language and zone). The server's
  // UTC text stays as the time's title, so both are a hover away.
  const formats = {
    datetime: { year: "numeric", month: "short", day: "numeric",
      hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short" },
    time: { hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short" },
    "time-ms": { hour: "2-digit", minute: "2-digit", second: "2-digit",
      fractionalSecondDigits: 3, timeZoneName: "short" },
  };
  const formatters = {};

  function formatter(style) {
    if (!formatters[style]) formatters[style] = new Intl.DateTimeFormat(undefined, formats[style]);
    return formatters[style];
  }

  function localTimes(root) {
    root.querySelectorAll("time[data-local]:not([data-localised])").forEach((el) => {
      const when = new Date(el.getAttribute("datetime"));
      if (!formats[el.dataset.local] || Number.isNaN(when.getTime())) return;
      el.title = el.textContent.trim();
      el.dataset.localised = "";
      el.textContent = formatter(el.dataset.local).format(when);
    });
  }

  // A table wider than its box scrolls inside it (.table-wrap); keyboard users can only
  // scroll it if it takes focus, and a focusable region needs a name.
  // Wraps that a template already made focusable (tabindex) are left as they are.
  function scrollRegions(root) {
    root.querySelectorAll(".table-wrap").forEach((wrap) => {
      const managed = "scrollRegion" in wrap.dataset;
      if (wrap.hasAttribute("tabindex") && !managed) return;
      const scrolls = wrap.scrollWidth > wrap.clientWidth + 1;
      if (scrolls && !managed) {
        const caption = wrap.querySelector("caption");
        wrap.dataset.scrollRegion = "";
        wrap.tabIndex = 0;
        wrap.setAttribute("role", "region");
        wrap.setAttribute(
          "aria-label",
          (caption ? caption.textContent.trim() : "Table") + " (scrolls sideways)",
        );
      } else if (!scrolls && managed) {
        delete wrap.dataset.scrollRegion;
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
        wrap.removeAttribute("aria-label");
      }
    });
  }

  localTimes(document);
  scrollRegions(document);
  let resizing = 0;
  window.addEventListener("resize", () => {
    window.cancelAnimationFrame(resizing);
    resizing = window.requestAnimationFrame(() => scrollRegions(document));
  });
  // Content that scripts add later (the order's status panel, the cart) is treated too.
  new MutationObserver((records) => {
    for (const record of records) {
      record.addedNodes.forEach((node) => {
        if (node.nodeType === Node.ELEMENT_NODE) {
          localTimes(node.parentNode || node);
          scrollRegions(node.parentNode || node);
        }
      });
    }
  }).observe(document.body, { childList: true, subtree: true });
})();
