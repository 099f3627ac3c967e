import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError, sendJson } from '../http.js';
import type { Metrics } from '../metrics.js';
import type { Readiness } from './readiness.js';

export const LIVE_PATH = '/api/v1/health/live';
export const READY_PATH = '/api/v1/health/ready';
export const METRICS_PATH = '/metrics';

export type Route = (req: IncomingMessage, res: ServerResponse, path: string, requestId: string) => boolean;

/** `/live` (the process answers) and `/ready` (its dependencies answer; cached, see readiness.ts). */
export function healthRoutes(readiness: Readiness, mode?: string): Route {
  return (req, res, path, requestId) => {
    if (path !== LIVE_PATH && path !== READY_PATH) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, 405, 'METHOD_NOT_ALLOWED', 'use GET', requestId, { allow: 'GET' });
      return true;
    }
    if (path === LIVE_PATH) {
      sendJson(res, 200, { status: 'live', mode });
      return true;
    }
    readiness
      .check()
      .then((report) =>
        sendJson(res, report.status === 'ok' ? 200 : 503, { status: report.status === 'ok' ? 'ready' : 'not_ready', dependencies: report.dependencies, mode }),
      )
      .catch(() => sendError(res, 500, 'INTERNAL_ERROR', 'readiness check failed', requestId));
    return true;
  };
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * `GET /metrics` in the Prometheus text format. With a token, only `Authorization: Bearer <token>`
 * is answered; without one it is open outside production and closed in production (metrics name
 * providers and destinations, which is not for anyone who can reach the port).
 */
export function metricsRoute(options: { metrics: Pick<Metrics, 'render' | 'registry'>; token: string | undefined; production: boolean }): Route {
  const expected = options.token ? digest(options.token) : undefined;
  return (req, res, path, requestId) => {
    if (path !== METRICS_PATH) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, 405, 'METHOD_NOT_ALLOWED', 'use GET', requestId, { allow: 'GET' });
      return true;
    }
    if (!expected && options.production) {
      sendError(res, 403, 'UNAUTHORIZED', 'metrics are closed: set METRICS_TOKEN', requestId);
      return true;
    }
    if (expected) {
      const presented = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
      if (!timingSafeEqual(digest(presented), expected)) {
        sendError(res, 401, 'UNAUTHORIZED', 'missing or invalid bearer token', requestId, { 'www-authenticate': 'Bearer' });
        return true;
      }
    }
    options.metrics
      .render()
      .then((text) => {
        res.writeHead(200, { 'content-type': options.metrics.registry.contentType, 'cache-control': 'no-store' });
        res.end(text);
      })
      .catch(() => sendError(res, 500, 'INTERNAL_ERROR', 'metrics could not be collected', requestId));
    return true;
  };
}
