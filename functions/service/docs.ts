// Scalar's settings: no fonts, telemetry or "try it" proxy from scalar.com; the page talks
// to this origin only, which the policy below enforces anyway.
const scalarConfiguration = JSON.stringify({ withDefaultFonts: false, telemetry: false, hideClientButton: true, proxyUrl: '' })

/**
 * An interactive reference (Scalar) that reads /openapi.json. The page is a few hundred
 * bytes; Scalar itself is a pinned bundle served from this origin by Workers static assets
 * (`assets/docs/scalar.js`, copied from node_modules by scripts/docs-assets.mjs), so it works
 * offline and runs only the code we pinned. Its configuration is a data attribute, not an
 * inline script, so the policy allows no inline script at all.
 */
export const docsPage = `<!doctype html>
<html lang="en">
  <head>
    <title>Gatehouse API reference</title>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
  </head>
  <body>
    <script id="api-reference" type="application/json" data-url="/openapi.json" data-configuration='${scalarConfiguration}'></script>
    <script src="/docs/scalar.js"></script>
  </body>
</html>`

/**
 * /docs's Content-Security-Policy: scripts from this origin only (no inline, no eval), data
 * from this origin only. Scalar injects its styles at run time, hence 'unsafe-inline' for
 * styles alone.
 */
export const DOCS_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')
