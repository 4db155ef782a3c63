// Delivers a sign-in result to the page that asked, then closes the popup.
// The target origin is the exact registered origin chosen by the server: a page on any other
// origin that opened or framed this window receives nothing.
(function () {
  "use strict";
  var el = document.getElementById("le-result");
  if (!el) return;
  var message = JSON.parse(el.textContent);
  var target = el.getAttribute("data-target");
  var mode = el.getAttribute("data-mode");
  var peer = mode === "iframe" ? window.parent : window.opener;
  if (peer && peer !== window) {
    peer.postMessage(message, target);
    if (mode === "popup") {
      window.setTimeout(function () { window.close(); }, 50);
    }
  } else if (!window.opener && window.IdentityProvider && IdentityProvider.resolve) {
    // Opened by the browser's FedCM dialog (the assertion's continue_on, for the exact origin
    // the assertion endpoint checked): the browser hands the object to that page.
    IdentityProvider.resolve(JSON.stringify(message.result));
  } else {
    var hint = document.getElementById("le-close-hint");
    if (hint) hint.hidden = false;
  }
})();
