import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sendError } from '../http.js';
import type { Route } from '../observability/routes.js';

/**
 * The web console (src/console, built into dist/console by the install step) at /console; `/`
 * redirects there. The page carries no data and no key: everything it shows comes from /graphql
 * with the key the operator types, so the files are served without authentication.
 */
export const CONSOLE_PATH = '/console';

// No inline script or style, nothing from another origin; WebSocket back to this host only.
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const FILES: Record<string, { file: string; type: string }> = {
  '/console': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/console/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/console/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

export function consoleRoute(directory: string): Route {
  const cache = new Map<string, Buffer>();
  return (req, res, path, requestId) => {
    if (path === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(302, { location: `${CONSOLE_PATH}/`, 'content-length': 0 });
      res.end();
      return true;
    }
    const entry = FILES[path];
    if (!entry) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, 405, 'METHOD_NOT_ALLOWED', 'use GET', requestId, { allow: 'GET' });
      return true;
    }
    const cached = cache.get(entry.file);
    const body = cached ? Promise.resolve(cached) : readFile(join(directory, entry.file));
    body
      .then((content) => {
        cache.set(entry.file, content);
        res.writeHead(200, {
          'content-type': entry.type,
          'content-length': content.length,
          'content-security-policy': CONSOLE_CSP,
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
          'cache-control': 'no-cache',
        });
        res.end(req.method === 'HEAD' ? undefined : content);
      })
      .catch(() =>
        sendError(res, 503, 'SERVICE_UNAVAILABLE', 'the console is not built: run `npm run build:console` (npm ci does it)', requestId),
      );
    return true;
  };
}
