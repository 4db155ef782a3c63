// The sample partner's own code: the seed's AuthorizeResult callback (step 4), the call to this
// site's backend with the refresh token, and Disconnect.
var refreshToken = null;

function byId(id) { return document.getElementById(id); }
function show(id, on) { byId(id).hidden = !on; }
function whenReady(fn) {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
  else fn();
}

function AuthorizeResult(result) {
  whenReady(function () { handleResult(result); });
}

function handleResult(result) {
  logResult(result);
  if (result.valid) {
    // Successfully authorized: hide the sign-in button, as the integration guide does.
    document.getElementById("leAppButton").setAttribute("style", "display: none");
    byId("signin-slot").hidden = true;
    refreshToken = result.refreshToken;
    show("success", true);
    show("failure", false);
    show("notice", false);
    loadProfile(result.refreshToken);
  } else if (result.error) {
    show("success", false);
    if (result.error === "access_denied") {
      show("failure", true);
    } else if (result.error !== "immediate_failed") {
      // immediate_failed only means "not signed in yet": the button is the answer to it.
      note("Sign-in did not complete: " + (result.errorMessage || "") + " (" + result.error + ")");
    }
  }
}

function note(text) {
  byId("notice").textContent = text;
  show("notice", true);
}

function shorten(token) { return token ? token.slice(0, 12) + "…" : token; }

function logResult(result) {
  var li = document.createElement("li");
  li.setAttribute("data-valid", String(result.valid));
  li.setAttribute("data-error", result.error || "");
  li.setAttribute("data-immediate", String(result.immediate));
  li.textContent = (result.valid ? "valid" : result.error) +
    (result.immediate ? " (silent check on render)" : " (sign-in window)");
  byId("events").appendChild(li);
  var shown = Object.assign({}, result, {
    refreshToken: shorten(result.refreshToken),
    authToken: shorten(result.authToken)
  });
  byId("last-result").textContent = JSON.stringify(shown, null, 2);
}

function loadProfile(token) {
  fetch("/api/profile", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refreshToken: token })
  }).then(function (r) {
    return r.json().then(function (body) { return { ok: r.ok, body: body }; });
  }).then(function (res) {
    if (!res.ok) return note("This site's backend could not use the token: " + res.body.errorMessage);
    byId("user-name").textContent = res.body.user.name || res.body.user.id;
    byId("user-email").textContent = res.body.user.email ? "(" + res.body.user.email + ")" : "";
    show("profile", true);
  }, function () {
    note("This site's backend did not answer.");
  });
}

whenReady(function () {
  byId("disconnect").addEventListener("click", function () {
    // Seed: "your app must provide a way to delete the association".
    LeadExec.disconnect(refreshToken, function (result) {
      if (!result.valid) return note("Disconnect failed: " + result.errorMessage);
      refreshToken = null;
      show("profile", false);
      show("success", false);
      document.getElementById("leAppButton").removeAttribute("style");
      byId("signin-slot").hidden = false;
      note("Disconnected: this site no longer has access to your LeadExec account.");
    });
  });
});
