// Emporium back office, product screens: the bulk-change box shows only the fields of the chosen change
// (the category for a move, the amount for prices). Without this file every field shows and the server
// reads only those of the chosen change. The live previews are htmx attributes in the templates.
(function () {
  "use strict";

  function showFieldsOf(select) {
    var form = select.form;
    if (!form) return;
    var fields = form.querySelectorAll("[data-bulk-for]");
    for (var i = 0; i < fields.length; i++) {
      fields[i].hidden = fields[i].getAttribute("data-bulk-for") !== select.value;
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.matches && target.matches("select[data-bulk-action]")) showFieldsOf(target);
  });

  function start() {
    var selects = document.querySelectorAll("select[data-bulk-action]");
    for (var i = 0; i < selects.length; i++) showFieldsOf(selects[i]);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
