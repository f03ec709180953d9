// Starts Swagger UI on /api/docs. It lives in a file, not inline, so the page keeps the shop's strict
// Content-Security-Policy (script-src 'self'); the schema's URL comes from the page's data attribute.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    domNode: root,
    deepLinking: true,
    // No call to the public validator service: the docs work offline and send the schema nowhere.
    validatorUrl: null,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
