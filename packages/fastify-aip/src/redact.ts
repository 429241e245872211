import type { IncomingMessage, Server } from 'node:http'
import { redactUrl } from '@aip/endpoint'

/** `/WS/`, `//ws`, `/Ws///` all become `/ws`: the forms a WebSocket path is mistyped in. */
function loosePath (path: string): string {
  const collapsed = path.replace(/\/{2,}/g, '/').toLowerCase()
  return collapsed.length > 1 ? collapsed.replace(/\/+$/, '') : collapsed
}

/** How the app's router normalises a path before matching it (Fastify's router options). */
export interface RouterLeniency {
  readonly ignoreTrailingSlash: boolean
  readonly ignoreDuplicateSlashes: boolean
  readonly caseSensitive: boolean
}

/** `path` as the router matches it. */
export function routed (path: string, router: RouterLeniency): string {
  let out = router.ignoreDuplicateSlashes ? path.replace(/\/{2,}/g, '/') : path
  if (router.ignoreTrailingSlash && out.length > 1) out = out.replace(/\/+$/, '')
  return router.caseSensitive ? out : out.toLowerCase()
}

/**
 * A client that mistypes the WebSocket path (`/ws/`, `/WS`) still sends its `?token=`, and the app's request log
 * would write it in clear (the WebSocket route's own log line redacts it; a 404 does not). Rewrites the URL of
 * such requests, before Fastify logs or routes them, with their query values redacted (`redactUrl` of
 * `@aip/endpoint`): they are refused (404) all the same.
 * Returns the function that stops it.
 */
export function redactMistypedPaths (server: Server, path: string, router: RouterLeniency): () => void {
  const wanted = loosePath(path)
  const route = routed(path, router)
  const rewrite = (request: IncomingMessage): void => {
    const url = request.url
    if (url === undefined || !/[?&]token=/i.test(url)) return
    const at = url.indexOf('?')
    const pathname = at === -1 ? url : url.slice(0, at)
    // Only what the router will not send to the WebSocket route (which needs the token, and redacts it itself).
    if (loosePath(pathname) === wanted && routed(pathname, router) !== route) request.url = redactUrl(url)
  }
  server.prependListener('request', rewrite)
  server.prependListener('upgrade', rewrite)
  return () => {
    server.off('request', rewrite)
    server.off('upgrade', rewrite)
  }
}
