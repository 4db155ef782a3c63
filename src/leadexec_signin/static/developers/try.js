// The "Try It" page's callback: shows the seed's Success / Failure messages. Tokens are never
// displayed; only the signed-in name is.
function AuthorizeResult(result) {
  "use strict";
  var ok = document.getElementById("try-success");
  var bad = document.getElementById("try-failure");
  var detail = document.getElementById("try-detail");
  if (result.valid) {
    ok.hidden = false;
    bad.hidden = true;
    detail.textContent = result.user && result.user.name ? "Signed in as " + result.user.name + "." : "";
  } else if (result.error === "access_denied") {
    ok.hidden = true;
    bad.hidden = false;
    detail.textContent = "";
  } else if (result.error && result.error !== "immediate_failed") {
    detail.textContent = "Error: " + result.error;
  }
}
window.AuthorizeResult = AuthorizeResult;
