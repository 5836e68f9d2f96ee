import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { ApiError } from '@threadwork/domain'
import { Hono } from 'hono'

/** Files of `swagger-ui-dist` the page needs, with their types. Nothing else is served. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Threadwork API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head><body><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>
</body></html>`

// A file, not an inline script, so a strict Content-Security-Policy can allow 'self' only.
const INIT = `window.ui = SwaggerUIBundle({
  url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis], layout: 'BaseLayout',
  validatorUrl: null, tryItOutEnabled: false
})`

/**
 * `/docs`: Swagger UI over `/openapi.json`. The assets come from the `swagger-ui-dist` package and
 * are served here: no CDN, so the page works offline and behind strict egress.
 */
export function docsRoutes() {
  const dir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'))
  const cache = new Map<string, Buffer>()
  return new Hono()
    .get('/docs', (c) => c.html(PAGE))
    .get('/docs/', (c) => c.redirect('/docs', 301))
    .get('/docs/assets/init.js', (c) => c.body(INIT, 200, { 'content-type': 'text/javascript; charset=utf-8' }))
    .get('/docs/assets/:file', async (c) => {
      const file = c.req.param('file')
      const type = ASSETS[file]
      if (!type) throw new ApiError(404, `Invalid URL (GET ${c.req.path})`)
      let body = cache.get(file)
      if (!body) cache.set(file, (body = await readFile(join(dir, file))))
      return c.body(new Uint8Array(body), 200, { 'content-type': type, 'cache-control': 'public, max-age=86400' })
    })
}
