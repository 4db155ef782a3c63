// Passkeys (WebAuthn): sign in with one on the sign-in page (a button, and the browser's
// autofill on the email field: conditional mediation), and add one or confirm it is you with
// one on the account security page. The server makes every challenge and checks every answer;
// this file only carries them between it and navigator.credentials.
(function () {
  "use strict";
  var PKC = window.PublicKeyCredential;
  var status = document.getElementById("passkey-status");
  var words = status ? status.dataset : {};

  function say(text) {
    if (!status) return;
    status.textContent = text || "";
    status.hidden = !text;
  }
  function csrf() {
    var input = document.querySelector('input[name="csrf"]');
    return input ? input.value : "";
  }
  function toB64u(buffer) {
    var bytes = new Uint8Array(buffer), text = "";
    for (var i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function fromB64u(text) {
    var raw = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes.buffer;
  }
  function ids(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: fromB64u(c.id) }); });
  }
  function creationOptions(json) {
    if (PKC.parseCreationOptionsFromJSON) return PKC.parseCreationOptionsFromJSON(json);
    return Object.assign({}, json, {
      challenge: fromB64u(json.challenge),
      user: Object.assign({}, json.user, { id: fromB64u(json.user.id) }),
      excludeCredentials: ids(json.excludeCredentials)
    });
  }
  function requestOptions(json) {
    if (PKC.parseRequestOptionsFromJSON) return PKC.parseRequestOptionsFromJSON(json);
    return Object.assign({}, json, {
      challenge: fromB64u(json.challenge),
      allowCredentials: ids(json.allowCredentials)
    });
  }
  function answer(credential) {
    if (typeof credential.toJSON === "function") return JSON.stringify(credential.toJSON());
    var r = credential.response, out = {};
    ["clientDataJSON", "attestationObject", "authenticatorData", "signature", "userHandle"]
      .forEach(function (name) { if (r[name]) out[name] = toB64u(r[name]); });
    if (r.getTransports) out.transports = r.getTransports();
    return JSON.stringify({
      id: credential.id, rawId: toB64u(credential.rawId), type: credential.type,
      response: out, clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment
    });
  }
  function post(url, fields) {
    var body = new URLSearchParams();
    body.set("csrf", csrf());
    Object.keys(fields).forEach(function (k) { body.set(k, fields[k]); });
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) throw new Error(data.message || words.failed || "");
        return data;
      });
    });
  }
  function failed(err) {
    if (err && err.name === "AbortError") return;
    // The person closed the browser's prompt, or the authenticator could not verify them.
    if (err && (err.name === "NotAllowedError" || err.name === "InvalidStateError")) {
      say(words.cancelled);
    } else {
      say((err && err.message) || words.failed);
    }
  }
  function go(data) { window.location.assign(data.next); }
  function assert(optionsUrl, resultUrl, extra, mediation, signal) {
    return post(optionsUrl, {}).then(function (json) {
      var request = { publicKey: requestOptions(json) };
      if (mediation) request.mediation = mediation;
      if (signal) request.signal = signal;
      return navigator.credentials.get(request);
    }).then(function (credential) {
      return post(resultUrl, Object.assign({ credential: answer(credential) }, extra));
    }).then(go);
  }

  // The sign-in page: a button, and the passkeys the browser offers on the email field.
  var button = document.getElementById("passkey-signin");
  if (button && PKC && navigator.credentials) {
    var next = { next: button.getAttribute("data-next") || "" };
    var pending = null;
    button.closest("[hidden]") && (button.closest("[hidden]").hidden = false);
    button.addEventListener("click", function () {
      if (pending) pending.abort();
      pending = null;
      say("");
      button.disabled = true;
      assert("/account/passkey/options", "/account/passkey/signin", next)
        .catch(failed)
        .then(function () { button.disabled = false; });
    });
    if (PKC.isConditionalMediationAvailable) {
      PKC.isConditionalMediationAvailable().then(function (available) {
        if (!available || button.disabled) return;
        pending = new AbortController();
        assert("/account/passkey/options", "/account/passkey/signin", next, "conditional",
          pending.signal).catch(failed);
      });
    }
  }

  // The security page: add a passkey (the person names it), or confirm it is you with one.
  var add = document.querySelector("form[data-passkey-add]");
  if (add && PKC) {
    add.addEventListener("submit", function (event) {
      event.preventDefault();
      var name = add.querySelector('input[name="name"]').value;
      var then = add.querySelector('input[name="next"]');
      var submit = add.querySelector('button[type="submit"]');
      say("");
      submit.disabled = true;
      post("/account/security/passkeys/options", {}).then(function (json) {
        return navigator.credentials.create({ publicKey: creationOptions(json) });
      }).then(function (credential) {
        return post("/account/security/passkeys", {
          credential: answer(credential), name: name, next: then ? then.value : ""
        });
      }).then(go).catch(failed).then(function () { submit.disabled = false; });
    });
  }
  var confirm = document.querySelector("[data-passkey-confirm]");
  if (confirm && PKC) {
    confirm.hidden = false;
    confirm.addEventListener("click", function () {
      say("");
      // The security page's re-authentication, or the second step after a password.
      assert(confirm.getAttribute("data-options") || "/account/security/confirm/options",
        confirm.getAttribute("data-result") || "/account/security/confirm/passkey", {})
        .catch(failed);
    });
  }
})();
