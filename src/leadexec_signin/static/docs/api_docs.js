// Starts Swagger UI on /docs over this server's own OpenAPI document (no inline script).
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  // Swagger UI's server menu has no label of its own; ours, in the page's language. Swagger UI
  // may draw the menu again after it says it is complete, so every new one is labelled too.
  function labelServers() {
    var servers = document.getElementById("servers");
    var label = root.getAttribute("data-servers-label");
    if (servers && label && servers.getAttribute("aria-label") !== label) {
      servers.setAttribute("aria-label", label);
    }
  }
  new MutationObserver(labelServers).observe(root, { childList: true, subtree: true });
  window.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    // No deep links: Swagger UI draws each one as a link inside the operation's button, a
    // control inside a control that screen readers and keyboards cannot use.
    deepLinking: false,
    // Requests "Try it out" sends go to this origin; tokens typed in stay in this page.
    persistAuthorization: false,
    validatorUrl: null,
    onComplete: labelServers,
  });
});
