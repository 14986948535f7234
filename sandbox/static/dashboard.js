/*
 * The dashboard's times in the reader's own time zone: <time datetime="…" data-local=
 * "datetime|time-ms">2026-12-01 20:48:09 UTC</time> becomes "Dec 1, 2026, 21:48:09 CET"
 * or "21:48:09.284 CET" (milliseconds: the order of callback attempts and state changes).
 * The UTC text stays as the title.
 */
(function () {
  "use strict";
  var formats = {
    datetime: { year: "numeric", month: "short", day: "numeric", hour: "2-digit",
      minute: "2-digit", second: "2-digit", timeZoneName: "short" },
    "time-ms": { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
      second: "2-digit", fractionalSecondDigits: 3, timeZoneName: "short" }
  };
  Array.prototype.forEach.call(document.querySelectorAll("time[data-local]"), function (el) {
    var when = new Date(el.getAttribute("datetime"));
    var format = formats[el.getAttribute("data-local")];
    if (!format || isNaN(when.getTime())) { return; }
    el.title = el.textContent.trim();
    el.textContent = new Intl.DateTimeFormat(undefined, format).format(when);
  });
})();
