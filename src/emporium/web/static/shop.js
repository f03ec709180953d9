// Emporium storefront: the little the pages need beyond htmx. No inline script exists anywhere (the
// Content-Security-Policy allows none), so this file is the one place for it.
(function () {
  "use strict";

  var SAFE = { GET: true, HEAD: true };

  // htmx requests that can change something carry the page's CSRF token in a header (plain forms carry
  // it in a hidden field instead).
  document.addEventListener("htmx:config:request", function (event) {
    var ctx = event.detail && event.detail.ctx;
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (!ctx || !ctx.request || !meta) return;
    var method = String(ctx.request.method || "GET").toUpperCase();
    if (!SAFE[method]) ctx.request.headers["X-CSRF-Token"] = meta.content;
  });

  // Escape closes the search suggestions and keeps the focus in the box.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var box = document.getElementById("search-suggestions");
    var input = document.getElementById("search-q");
    if (!box || !input) return;
    if (box.contains(document.activeElement) || event.target === input) {
      box.textContent = "";
      input.focus();
    }
  });
})();
