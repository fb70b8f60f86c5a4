// Swagger UI over this service's own /openapi.json. With authentication on, "Authorize"
// takes a bearer token (mint one with `oms token`).
window.ui = SwaggerUIBundle({
  url: new URL('openapi.json', location.href).href,
  dom_id: '#swagger-ui',
  deepLinking: true,
  docExpansion: 'list',
});
