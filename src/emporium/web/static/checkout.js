// Checkout's first step: a guest types their name once. While one of the two name fields (the contact's
// and the recipient's) is empty or still holds what was copied into it, typing in the other fills it too;
// once changed by hand it is left alone. Without script the server fills an empty recipient's name.
(function () {
  "use strict";

  function follow(source, target) {
    source.addEventListener("input", function () {
      if (target.value === "" || target.value === target.dataset.copied) {
        target.value = source.value;
        target.dataset.copied = source.value;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var contact = document.getElementById("f-contact_name");
    var recipient = document.getElementById("f-address_full_name");
    if (!contact || !recipient) return;
    // Back from the review with one name in both fields: they still move together.
    if (contact.value !== "" && contact.value === recipient.value) {
      contact.dataset.copied = contact.value;
      recipient.dataset.copied = recipient.value;
    }
    follow(contact, recipient);
    follow(recipient, contact);
  });
})();
