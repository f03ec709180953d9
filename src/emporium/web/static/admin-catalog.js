// The catalog import form: a file over the shop's size limit is named before it is sent (the server refuses
// it anyway). Without this script the form still works; the server answers with the same message.
(function () {
  "use strict";
  function check(form) {
    var input = form.querySelector("input[type=file]");
    var error = form.querySelector(".field__error");
    var limit = Number(form.getAttribute("data-max-bytes"));
    if (!input || !error || !limit || !input.files || !input.files.length) return true;
    var file = input.files[0];
    if (file.size <= limit) {
      error.hidden = true;
      error.textContent = "";
      input.removeAttribute("aria-invalid");
      return true;
    }
    var size = limit >= 1048576 ? Math.floor(limit / 1048576) + " MB" : Math.max(Math.floor(limit / 1024), 1) + " KB";
    error.textContent = "The file is larger than " + size + "; split it into smaller files.";
    error.hidden = false;
    input.setAttribute("aria-invalid", "true");
    return false;
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.hasAttribute("data-max-bytes") && !check(form)) {
      event.preventDefault();
    }
  });
  document.addEventListener("change", function (event) {
    var form = event.target instanceof HTMLInputElement ? event.target.form : null;
    if (form && form.hasAttribute("data-max-bytes")) check(form);
  });
})();
