// The partner console's two helpers, loaded from this origin (CSP script-src 'self'): a Copy
// button on every code block, and the new-button form's live preview.
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

  function bindCopy(button) {
    button.addEventListener("click", function () {
      var block = document.getElementById(button.getAttribute("data-copy"));
      if (!block) return;
      copyText(block.textContent).then(
        function () { button.textContent = "Copied"; },
        function () { button.textContent = "Select and copy"; }
      );
      window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
    });
  }

  function bindPreview(form) {
    var preview = document.getElementById("preview-button");
    if (!preview) return;
    function update() {
      var theme = form.querySelector("[name=theme]");
      var size = form.querySelector("[name=size]");
      var text = form.querySelector("[name=text]");
      if (theme) preview.setAttribute("data-theme", theme.value);
      if (size) preview.setAttribute("data-size", size.value);
      if (text) preview.textContent = text.value.trim() || "Sign in with LeadExec";
    }
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    update();
  }

  var copies = document.querySelectorAll("button.copy[data-copy]");
  for (var i = 0; i < copies.length; i++) bindCopy(copies[i]);
  var form = document.getElementById("new-button");
  if (form) bindPreview(form);
})();
