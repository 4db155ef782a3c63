/*! LeadExec Sign-In button SDK. Plain JavaScript, no dependencies. Docs: docs/sdk.md */
(function (w, d) {
  "use strict";
  if (w.LeadExec && w.LeadExec.version) return; // the snippet was pasted twice

  var perf = w.performance;
  function mark(name) {
    if (perf && perf.mark) perf.mark(name);
  }
  mark("leadexec:start");

  // The provider is wherever this file came from: one SDK for every deployment.
  var me = d.currentScript;
  var OWN = /\/signin\/button\.js([?#]|$)/;
  if (!me || !OWN.test(me.src)) {
    me = [].filter.call(d.getElementsByTagName("script"), function (s) {
      return OWN.test(s.src);
    })[0];
  }
  if (!me) return;
  var IDP = new URL(me.src, location.href).origin;
  // The button's stylesheet, when the page did not link it: the markup alone is enough.
  if (!d.querySelector('link[href*="signin/button.css"]')) {
    var css = d.createElement("link");
    css.rel = "stylesheet";
    css.href = IDP + "/signin/button.css";
    d.head.appendChild(css);
  }
  var SOURCE = "leadexec-signin";
  var SELECTOR = "#leAppButton,[data-btnid]";
  var pending = new Map(); // state -> {win, done}: windows we are waiting on
  var checked = {}; // one silent check per button ID and callback on a page
  var configs = {}; // btnId -> Promise of the button's public settings
  var boxes = new WeakMap(); // element -> per-button state
  var rendered = false, drawn = false;
  var accounts = {}; // refreshToken -> {appId, hint}: whom LeadExec.disconnect names

  function nonce() {
    var a = new Uint8Array(16);
    w.crypto.getRandomValues(a);
    return [].map.call(a, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }

  function query(b, state) {
    var q = { btnId: b.btnId, origin: origin(), state: state };
    if (b.el.dataset.lang) q.hl = b.el.dataset.lang; // the popup's language (data-lang)
    return new URLSearchParams(q).toString();
  }

  // self.origin is "null" in a sandboxed frame, which can never get a result: told at once.
  function origin() { return w.origin || location.origin; }

  // Every field, whatever the source: a callback never tests for a missing key.
  function shape(r, btnId, immediate) {
    r = r && typeof r === "object" ? r : {};
    var ok = r.valid === true;
    return {
      valid: ok,
      error: ok ? null : String(r.error || "server_error"),
      errorMessage: ok ? null : r.errorMessage || null,
      immediate: immediate,
      appId: r.appId || null,
      btnId: r.btnId || btnId,
      scopes: Array.isArray(r.scopes) ? r.scopes : [],
      refreshToken: (ok && r.refreshToken) || null,
      authToken: (ok && r.authToken) || null,
      expireDate: (ok && r.expireDate) || null,
      code: (ok && r.code) || null,
      user: (ok && r.user) || null,
      via: r.via || (immediate ? "iframe" : "popup") // diagnostics: fedcm, iframe or popup
    };
  }

  // The SDK's words come with the button's settings, in the page's language.
  var MSG = {};
  function fail(b, error, key, immediate, code) {
    return config(b).then(function (c) {
      var m = ((c && c.messages) || MSG)[key || error];
      return shape({ error: error, errorMessage: m ? m.replace("%s", code) : null }, b.btnId, immediate);
    });
  }

  // Whom IdentityCredential.disconnect names for a token: its user id, else its email.
  function remember(r) {
    var u = r.valid && r.refreshToken && r.user;
    if (u && (u.id || u.email)) accounts[r.refreshToken] = { appId: r.appId, hint: u.id || u.email };
  }

  function callbackOf(el) {
    var name = el.getAttribute("data-callback") || "AuthorizeResult";
    // A dotted path of names on window, nothing else: markup cannot reach Function and co.
    if (!/^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/.test(name) ||
        /(^|\.)(constructor|prototype|__proto__)(\.|$)/.test(name)) return null;
    var fn = w, path = name.split(".");
    for (var i = 0; i < path.length && fn != null; i++) fn = fn[path[i]];
    return typeof fn === "function" ? fn : null;
  }

  function deliver(b, result, late) {
    if (result.then) return result.then(function (r) { deliver(b, r, late); });
    remember(result);
    var fn = callbackOf(b.el);
    if (fn) return fn.call(b.el, result);
    // An async SDK can answer before the page's own script defining the callback has run.
    if (!late && d.readyState === "loading") {
      return d.addEventListener("DOMContentLoaded", function () { deliver(b, result, true); });
    }
    console.error("LeadExec: no callback function named " +
      (b.el.getAttribute("data-callback") || "AuthorizeResult"));
  }

  w.addEventListener("message", function (e) {
    var m = e.data;
    // Only the provider's own pages, only for a request this page made, only from the very
    // window we opened or framed for it.
    if (e.origin !== IDP || !m || m.source !== SOURCE || typeof m.state !== "string") return;
    var p = pending.get(m.state);
    if (!p || e.source !== p.win) return;
    pending.delete(m.state);
    p.done(m.result);
  });

  function config(b) {
    var lang = b.el.dataset.lang || "", key = b.btnId + " " + lang;
    if (!configs[key]) {
      configs[key] = fetch(IDP + "/signin/buttons/" + encodeURIComponent(b.btnId) +
        (lang && "?hl=" + encodeURIComponent(lang)), { credentials: "omit" })
        .then(function (r) { return r.ok ? r.json() : null; }, function () { return null; })
        .then(function (c) { if (c && c.messages) MSG = c.messages; return c; });
    }
    return configs[key];
  }

  function look(el, name, value) {
    // data-theme / data-size on the markup win: they are known at first paint (no shift).
    el.setAttribute("data-le-" + name, el.getAttribute("data-" + name) || value);
  }

  function apply(b, c) {
    var el = b.el;
    if (!c) {
      el.setAttribute("data-le-state", "invalid");
      return console.error("LeadExec: button " + b.btnId + " is not registered");
    }
    look(el, "theme", c.theme);
    look(el, "size", c.size);
    if (c.text && el.textContent.trim() !== c.text) el.textContent = c.text;
    el.setAttribute("data-le-state", "ready");
    if (!rendered) {
      rendered = true;
      mark("leadexec:rendered");
    }
  }

  // FedCM: the browser's own dialog, which knows a returning user across sites without
  // third-party cookies. Where a browser lacks it, or it fails, the iframe and popup remain.
  var FEDCM = "IdentityCredential" in w && navigator.credentials;
  var CONFIG_URL = IDP + "/fedcm/config.json";
  var REFUSALS = ["access_denied", "invalid_button", "origin_not_allowed", "app_not_approved"];
  function fedcm(b, active) {
    return config(b).then(function (c) {
      if (!c) throw 0;
      var o = { identity: { providers: [{
        configURL: CONFIG_URL, clientId: c.appId, params: { btnId: b.btnId }
      }] }, mediation: "optional" };
      if (active) o.identity.mode = "active";
      return navigator.credentials.get(o);
    }).then(function (cred) {
      var r = JSON.parse(cred.token);
      r.via = "fedcm";
      return shape(r, b.btnId, !active);
    });
  }

  function silentCheck(b) {
    var key = b.btnId + " " + (b.el.getAttribute("data-callback") || "");
    if (checked[key]) return;
    checked[key] = true;
    if (origin() === "null") return deliver(b, fail(b, "immediate_failed", "no_origin", true));
    if (!FEDCM) return frameCheck(b);
    fedcm(b, false).then(function (r) { deliver(b, r); }, function () { frameCheck(b); });
  }

  function frameCheck(b) {
    var state = nonce();
    var frame = d.createElement("iframe");
    var timer;
    function done(r) {
      clearTimeout(timer);
      pending.delete(state);
      frame.remove();
      deliver(b, shape(r, b.btnId, true));
    }
    function giveUp() {
      pending.delete(state);
      fail(b, "immediate_failed", 0, true).then(done);
    }
    frame.hidden = true;
    frame.style.display = "none";
    frame.title = "LeadExec sign-in check";
    frame.tabIndex = -1;
    frame.setAttribute("aria-hidden", "true");
    frame.addEventListener("load", function () {
      // The result page posts while it loads; a page that loaded without posting never will.
      clearTimeout(timer);
      timer = setTimeout(giveUp, 2000);
    });
    frame.src = IDP + "/signin/immediate?" + query(b, state);
    timer = setTimeout(giveUp, 10000);
    (d.body || d.documentElement).appendChild(frame);
    pending.set(state, { win: frame.contentWindow, done: done });
  }

  function open(b) {
    if (b.popup && !b.popup.closed) return b.popup.focus();
    if (origin() === "null") return deliver(b, fail(b, "origin_not_allowed", "no_origin", false));
    if (FEDCM && !b.nofed) {
      // A failed dialog (closed, refused) leaves the popup for the next click: it must open
      // inside a click, which has passed by the time the browser answers.
      return fedcm(b, true).then(function (r) { deliver(b, r); }, function (e) {
        b.nofed = true;
        // LeadExec's refusal, which the browser hands over to a registered origin only.
        var code = e && REFUSALS.indexOf(e.error) >= 0 ? e.error : null;
        deliver(b, fail(b, code || "popup_closed", code ? "refused" : "dialog_closed", false, code)
          .then(function (r) { r.via = "fedcm"; return r; }));
      });
    }
    var state = nonce();
    var W = 500, H = 680;
    var left = (w.screenX || 0) + Math.max(0, (w.outerWidth - W) / 2);
    var top = (w.screenY || 0) + Math.max(0, (w.outerHeight - H) / 2);
    // Opened inside the click (browsers block popups opened after an await); a tab on touch.
    var p = w.open(IDP + "/signin/authorize?" + query(b, state), "_blank",
      w.matchMedia("(pointer:coarse)").matches ? "" :
      "popup=yes,width=" + W + ",height=" + H + ",left=" + Math.round(left) + ",top=" + Math.round(top));
    if (!p || p.closed) {
      return deliver(b, fail(b, "popup_blocked", 0, false));
    }
    b.popup = p;
    var poll = setInterval(function () {
      if (!p.closed) return;
      clearInterval(poll);
      // A result posted just before the window closed is still on its way: let it land.
      setTimeout(function () {
        if (pending.delete(state)) fail(b, "popup_closed", 0, false).then(done);
      }, 300);
    }, 300);
    function done(r) {
      clearInterval(poll);
      pending.delete(state);
      if (b.popup === p) b.popup = null;
      deliver(b, shape(r, b.btnId, false));
    }
    pending.set(state, { win: p, done: done });
  }

  function render(el) {
    var btnId = el.getAttribute("data-btnid");
    if (!btnId || boxes.has(el)) {
      if (!btnId && el.id === "leAppButton") console.error("LeadExec: #leAppButton has no data-btnId");
      return;
    }
    var b = { el: el, btnId: btnId, popup: null };
    boxes.set(el, b);
    el.classList.add("le-btn");
    if (el.tagName === "BUTTON") {
      if (!el.hasAttribute("type")) el.type = "button"; // never submits a surrounding form
    } else {
      if (!el.hasAttribute("role")) el.setAttribute("role", "button");
      if (!el.hasAttribute("tabindex")) el.tabIndex = 0;
      el.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          open(b);
        }
      });
    }
    el.addEventListener("click", function (e) {
      e.preventDefault();
      open(b);
    });
    if (el.getAttribute("data-theme")) look(el, "theme", "light");
    if (el.getAttribute("data-size")) look(el, "size", "medium");
    el.setAttribute("data-le-state", "loading");
    if (!drawn) mark("leadexec:drawn"); // styled from the markup, and clickable
    drawn = true;
    config(b).then(function (c) { apply(b, c); });
    silentCheck(b);
  }

  function scan(root) {
    if (root.nodeType !== 1 && root !== d) return;
    if (root.matches && root.matches(SELECTOR)) render(root);
    [].forEach.call(root.querySelectorAll(SELECTOR), render);
  }

  // After the revoke the browser forgets this app may sign the user in (a token this page knows).
  function forget(refreshToken) {
    var known = accounts[refreshToken];
    if (!FEDCM || !IdentityCredential.disconnect || !known) return Promise.resolve();
    delete accounts[refreshToken];
    var asked = IdentityCredential.disconnect({
      configURL: CONFIG_URL, clientId: known.appId, accountHint: known.hint
    }).catch(function () {});
    // The partner's callback never waits on the browser for long.
    return Promise.race([asked, new Promise(function (ok) { setTimeout(ok, 3000); })]);
  }

  function disconnect(refreshToken, callback) {
    return new Promise(function (resolve) {
      var name = "c" + nonce().slice(0, 16);
      var script = d.createElement("script");
      var over = false;
      function finish(r) {
        if (over) return;
        over = true;
        delete jsonp[name];
        script.remove();
        var result = {
          valid: !!(r && r.valid === true),
          errorMessage: (r && r.errorMessage) || null,
          error: (r && r.error) || null
        };
        forget(refreshToken).then(function () {
          if (typeof callback === "function") callback(result);
          resolve(result);
        });
      }
      jsonp[name] = finish;
      function unreachable() {
        finish({ errorMessage: MSG.unreachable || null, error: "server_error" });
      }
      script.onerror = unreachable;
      script.onload = unreachable; // runs after the answer, so only when it was not a call
      script.src = IDP + "/api/revoke?token=" + encodeURIComponent(refreshToken || "") +
        "&callback=LeadExec._jsonp." + name;
      (d.head || d.documentElement).appendChild(script);
    });
  }

  var jsonp = {};
  w.LeadExec = {
    version: "1",
    origin: IDP,
    disconnect: disconnect,
    render: function (root) { scan(root || d); },
    _jsonp: jsonp
  };

  scan(d);
  new MutationObserver(function (changes) {
    changes.forEach(function (c) {
      if (c.type === "attributes") scan(c.target);
      else c.addedNodes.forEach(scan);
    });
  }).observe(d.documentElement, {
    childList: true,
    subtree: true,
    attributes: true,
    attributeFilter: ["data-btnid", "id"]
  });
})(window, document);
