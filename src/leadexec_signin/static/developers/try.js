// The "Try It" page's callback: shows the seed's Success / Failure messages. Tokens are never
// displayed; only the signed-in name is. The words come from the page, in its language
// (#try-detail's data-signed-in and data-error, with {name} / {code} where the value goes).
function AuthorizeResult(result) {
  "use strict";
  var ok = document.getElementById("try-success");
  var bad = document.getElementById("try-failure");
  var detail = document.getElementById("try-detail");
  function say(name, key, value) {
    var words = detail.getAttribute(name) || key;
    return words.replace(key, function () { return value; });
  }
  if (result.valid) {
    ok.hidden = false;
    bad.hidden = true;
    detail.textContent = result.user && result.user.name
      ? say("data-signed-in", "{name}", result.user.name)
      : "";
  } else if (result.error === "access_denied") {
    ok.hidden = true;
    bad.hidden = false;
    detail.textContent = "";
  } else if (result.error && result.error !== "immediate_failed") {
    detail.textContent = say("data-error", "{code}", result.error);
  }
}
window.AuthorizeResult = AuthorizeResult;
