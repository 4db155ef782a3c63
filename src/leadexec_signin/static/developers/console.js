// The partner console's helpers, loaded from this origin (CSP script-src 'self'): a Copy
// button on every code block, the new-button form's live preview, and the application page's
// tabs.
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain http on a non-loopback host has no clipboard API: select and copy instead.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = document.execCommand("copy");
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  // The words are the page's, in its language: the button's own text, and what it says after
  // a click (data-copied, data-copy-failed), so no sentence lives in this script.
  function bindCopy(button) {
    var label = button.textContent;
    var copied = button.getAttribute("data-copied") || label;
    var failed = button.getAttribute("data-copy-failed") || label;
    button.addEventListener("click", function () {
      var block = document.getElementById(button.getAttribute("data-copy"));
      if (!block) return;
      copyText(block.textContent).then(
        function () { button.textContent = copied; },
        function () { button.textContent = failed; }
      );
      window.setTimeout(function () { button.textContent = label; }, 2000);
    });
  }

  // The default text is shown as the SDK will show it, in the page's language
  // (data-default-words); any other text is the partner's own and shown as typed.
  function bindPreview(form) {
    var preview = document.getElementById("preview-button");
    if (!preview) return;
    var defaultText = preview.getAttribute("data-default-text") || "";
    var defaultWords = preview.getAttribute("data-default-words") || defaultText;
    function update() {
      var theme = form.querySelector("[name=theme]");
      var size = form.querySelector("[name=size]");
      var text = form.querySelector("[name=text]");
      if (theme) preview.setAttribute("data-theme", theme.value);
      if (size) preview.setAttribute("data-size", size.value);
      if (text) {
        var typed = text.value.trim();
        preview.textContent = !typed || typed === defaultText ? defaultWords : typed;
      }
    }
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    update();
  }

  // One section of the application page at a time: the one the address's #fragment names (or
  // holds the element it names: #new-button is on Buttons), else the one the server chose
  // (data-tab: where a refused form is), else Overview. Plain links, so Back moves between
  // tabs and a tab can be bookmarked.
  function bindTabs(nav) {
    var links = nav.querySelectorAll("a[href^='#']");
    var panels = document.querySelectorAll("section.tab-panel");
    function panelFor(id) {
      var target = id && document.getElementById(id);
      while (target && !(target.classList && target.classList.contains("tab-panel"))) {
        target = target.parentElement;
      }
      return target;
    }
    function show() {
      var hash = decodeURIComponent(window.location.hash.slice(1));
      var panel = panelFor(hash) || panelFor(nav.getAttribute("data-tab")) || panels[0];
      for (var i = 0; i < panels.length; i++) panels[i].hidden = panels[i] !== panel;
      for (var j = 0; j < links.length; j++) {
        if (links[j].getAttribute("href") === "#" + panel.id) {
          links[j].setAttribute("aria-current", "true");
        } else {
          links[j].removeAttribute("aria-current");
        }
      }
      // The tab's own name is the fragment: the page stays where it is, the tabs in view.
      if (hash === panel.id) window.scrollTo(0, 0);
    }
    window.addEventListener("hashchange", show);
    show();
  }

  var tabs = document.querySelector("nav.app-tabs");
  if (tabs) bindTabs(tabs);

  var copies = document.querySelectorAll("button.copy[data-copy]");
  for (var i = 0; i < copies.length; i++) bindCopy(copies[i]);
  var form = document.getElementById("new-button");
  if (form) bindPreview(form);
})();
