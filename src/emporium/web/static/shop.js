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

  // A plain form of a shared page has an empty token field: it is filled as the form is sent. A shopper
  // quicker than the visitor fragment (a click before it arrived) is not refused: the form waits for this
  // browser's token from /visitor, then goes (the same button, so its formaction holds).
  var TOKEN_IN_FRAGMENT = /data-csrf-token="([A-Za-z0-9_-]+)"/;

  function fill(fields, token) {
    for (var i = 0; i < fields.length; i++) {
      if (!fields[i].value) fields[i].value = token;
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.querySelectorAll) return;
    var fields = form.querySelectorAll('input[name="csrf_token"]');
    var empty = Array.prototype.some.call(fields, function (field) { return !field.value; });
    if (!empty) return;
    var token = csrfToken();
    if (token) {
      fill(fields, token);
      return;
    }
    event.preventDefault();
    var submitter = event.submitter || null;
    fetch("/visitor", { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var found = TOKEN_IN_FRAGMENT.exec(html);
        // Without a token the form still goes: the shop answers with a page that says what to do.
        fill(fields, found ? found[1] : "-");
      }, function () { fill(fields, "-"); })
      .then(function () {
        if (form.requestSubmit) form.requestSubmit(submitter); else form.submit();
      });
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
