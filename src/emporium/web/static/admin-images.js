// The image manager: files dropped on the upload area join the file field, then the form is sent as the
// plain form would be (it works the same without this script, through the file picker).
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var zone = document.querySelector("[data-drop-zone]");
    if (!zone) return;
    var input = zone.querySelector("input[type=file]");
    var note = zone.querySelector("[data-drop-note]");
    if (!input || typeof DataTransfer === "undefined") return;

    function over(event) {
      event.preventDefault();
      zone.classList.add("admin-images__drop--over");
    }
    function leave() {
      zone.classList.remove("admin-images__drop--over");
    }
    zone.addEventListener("dragenter", over);
    zone.addEventListener("dragover", over);
    zone.addEventListener("dragleave", leave);
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      leave();
      var dropped = event.dataTransfer && event.dataTransfer.files;
      if (!dropped || !dropped.length) return;
      var files = new DataTransfer();
      for (var i = 0; i < input.files.length; i++) files.items.add(input.files[i]);
      for (var j = 0; j < dropped.length; j++) files.items.add(dropped[j]);
      input.files = files.files;
      if (note) note.textContent = input.files.length + " file" + (input.files.length === 1 ? "" : "s") + " ready to upload.";
    });
    input.addEventListener("change", function () {
      if (note) note.textContent = input.files.length + " file" + (input.files.length === 1 ? "" : "s") + " ready to upload.";
    });
  });
})();
