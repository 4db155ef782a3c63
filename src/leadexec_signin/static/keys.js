// Escape means "Cancel", as in any dialog: on the consent dialog it declines (the partner's
// page hears access_denied), and on a sign-in page in a window the SDK opened it closes that
// window (the page hears popup_closed). Elsewhere it does nothing.
(function () {
  "use strict";
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape" || e.defaultPrevented || e.isComposing) return;
    var cancel = document.querySelector('button[name="decision"][value="cancel"]');
    if (cancel) {
      e.preventDefault();
      cancel.click();
    } else if (window.opener && document.body.hasAttribute("data-popup")) {
      window.close();
    }
  });
})();
