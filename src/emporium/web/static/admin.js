// Emporium back office: keyboard help the pages need beyond htmx and shop.js. No inline script exists
// anywhere (the Content-Security-Policy allows none), so this file is the one place for it.
(function () {
  "use strict";

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  // "/" jumps to the global search, as in most admin tools; not while the person is typing somewhere.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var box = document.getElementById("admin-search-q");
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  });

  // A form whose submit button carries data-confirm asks first (refunds, cancellations, erasure).
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // "Select all" boxes of bulk-action tables.
  document.addEventListener("change", function (event) {
    var all = event.target;
    if (!all || !all.matches || !all.matches("input[data-select-all]")) return;
    var form = all.form;
    if (!form) return;
    var boxes = form.querySelectorAll("input[type=checkbox][name='" + all.getAttribute("data-select-all") + "']");
    for (var i = 0; i < boxes.length; i++) boxes[i].checked = all.checked;
  });
})();
