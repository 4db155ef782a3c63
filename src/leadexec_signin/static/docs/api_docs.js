// Starts Swagger UI on /docs over this server's own OpenAPI document (no inline script).
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  window.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // Requests "Try it out" sends go to this origin; tokens typed in stay in this page.
    persistAuthorization: false,
    validatorUrl: null,
  });
});
