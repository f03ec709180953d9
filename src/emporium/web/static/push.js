// The "Turn on notifications" control of the inbox page: registers the service worker (/sw.js), asks the
// browser for permission, subscribes with the shop's VAPID public key and hands the subscription to the
// shop; "Turn off" does the reverse. The control stays hidden where the browser has no web push.
(function () {
  "use strict";

  var box = document.getElementById("push-control");
  if (!box) return;
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) return;

  var on = document.getElementById("push-on");
  var off = document.getElementById("push-off");
  var status = document.getElementById("push-status");
  var meta = document.querySelector('meta[name="csrf-token"]');
  var PATH = "/account/push/subscriptions";

  function say(text) {
    status.textContent = text;
  }

  function show(subscribed) {
    on.hidden = subscribed;
    off.hidden = !subscribed;
    say(subscribed ? "Notifications are on in this browser." : "Notifications are off in this browser.");
  }

  // The applicationServerKey as bytes, from the base64url text the page carries.
  function keyBytes(text) {
    var base64 = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function send(method, body) {
    return fetch(PATH, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": meta ? meta.content : "" },
      body: JSON.stringify(body),
    }).then(function (response) {
      if (!response.ok) throw new Error("the shop answered " + response.status);
      return response.json();
    });
  }

  function failed(what) {
    return function (error) {
      say("Could not " + what + ": " + (error && error.message ? error.message : "unknown error") + ".");
    };
  }

  var ready = navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function () {
    return navigator.serviceWorker.ready;
  });
  box.hidden = false;
  ready
    .then(function (registration) {
      return registration.pushManager.getSubscription();
    })
    .then(function (subscription) {
      show(Boolean(subscription));
    })
    .catch(failed("start notifications"));

  on.addEventListener("click", function () {
    on.disabled = true;
    say("Asking your browser…");
    Notification.requestPermission()
      .then(function (permission) {
        if (permission !== "granted") throw new Error("this browser blocks notifications from the shop");
        return ready;
      })
      .then(function (registration) {
        return registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(box.getAttribute("data-vapid-key")),
        });
      })
      .then(function (subscription) {
        return send("POST", subscription.toJSON());
      })
      .then(function () {
        show(true);
      })
      .catch(failed("turn on notifications"))
      .then(function () {
        on.disabled = false;
      });
  });

  off.addEventListener("click", function () {
    off.disabled = true;
    ready
      .then(function (registration) {
        return registration.pushManager.getSubscription();
      })
      .then(function (subscription) {
        if (!subscription) return null;
        return send("DELETE", { endpoint: subscription.endpoint }).then(function () {
          return subscription.unsubscribe();
        });
      })
      .then(function () {
        show(false);
      })
      .catch(failed("turn off notifications"))
      .then(function () {
        off.disabled = false;
      });
  });
})();
