// The variant editor: while staff type, each row's "can sell" follows the pool's count, the draw per unit
// and the pool chosen (available = on hand - reserved; can sell = floor(available / draw)), and a row
// that was changed is marked. The server computes the same on save; this only saves a round trip.
(function () {
  "use strict";

  function whole(text) {
    var value = String(text || "").trim();
    return /^[0-9]{1,15}$/.test(value) ? parseInt(value, 10) : null;
  }

  function poolFree(form, poolId) {
    var count = form.querySelector("input[name='on_hand." + poolId + "']");
    var row = document.getElementById("pool-row-" + poolId);
    if (!row) return null;
    var reserved = whole(row.getAttribute("data-reserved"));
    var onHand = count ? whole(count.value) : whole(row.getAttribute("data-on-hand"));
    if (onHand === null || reserved === null) return null;
    return Math.max(0, onHand - reserved);
  }

  function refresh(form) {
    var rows = form.querySelectorAll("tr[data-variant]");
    for (var i = 0; i < rows.length; i++) {
      var id = rows[i].getAttribute("data-variant");
      var cell = form.querySelector("[data-can-sell='" + id + "']");
      var pool = form.querySelector("select[name='pool." + id + "']");
      var draw = whole((form.querySelector("input[name='draw." + id + "']") || {}).value);
      if (!cell || !pool) continue;
      var free = pool.value === "new" ? 0 : poolFree(form, pool.value);
      cell.textContent = free === null || !draw ? "?" : String(Math.floor(free / draw));
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("variant-grid");
    if (!form) return;
    form.addEventListener("input", function (event) {
      var row = event.target.closest ? event.target.closest("tr") : null;
      if (row) row.classList.add("admin-variants__row--changed");
      refresh(form);
    });
    form.addEventListener("change", function () { refresh(form); });
  });
})();
