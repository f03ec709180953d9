// Emporium storefront: the little the pages need beyond htmx. No inline script exists anywhere (the
// Content-Security-Policy allows none), so this file is the one place for it.
(function () {
  "use strict";

  var SAFE = { GET: true, HEAD: true };

  // The browser's CSRF token: in the page itself (a page drawn for this visitor), or brought by the
  // visitor fragment (/visitor) into a shared page, which is the same for everybody and carries none.
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) return meta.content;
    var holder = document.querySelector("[data-csrf-token]");
    return holder ? holder.getAttribute("data-csrf-token") : "";
  }

  // htmx requests that can change something carry the token in a header (plain forms carry it in a
  // hidden field instead).
  document.addEventListener("htmx:config:request", function (event) {
    var ctx = event.detail && event.detail.ctx;
    var token = csrfToken();
    if (!ctx || !ctx.request || !token) return;
    var method = String(ctx.request.method || "GET").toUpperCase();
    if (!SAFE[method]) ctx.request.headers["X-CSRF-Token"] = token;
  });

  // A plain form of a shared page has an empty token field: it is filled as the form is sent.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.querySelectorAll) return;
    var fields = form.querySelectorAll('input[name="csrf_token"]');
    var token = csrfToken();
    for (var i = 0; i < fields.length; i++) {
      if (!fields[i].value && token) fields[i].value = token;
    }
  }, true);

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
