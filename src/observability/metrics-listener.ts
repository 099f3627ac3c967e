import type { Server } from 'node:http';
import { createListener, sendError } from '../http.js';
import { requestIdFrom } from '../ids.js';
import type { Logger } from '../log.js';
import type { Route } from './routes.js';

/** For a process without the management listener (persist or delivery alone): /metrics and health only. */
export function startMetricsListener(routes: Route[], log: Logger): Server {
  return createListener({ headersTimeout: 10_000, requestTimeout: 20_000, keepAliveTimeout: 5_000 }, (req, res) => {
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const path = (req.url ?? '/').split('?', 1)[0]!;
    try {
      if (!routes.some((route) => route(req, res, path, requestId))) sendError(res, 404, 'NOT_FOUND', 'no such route', requestId);
    } catch (error) {
      log.error({ requestId, err: error }, 'unexpected metrics listener failure');
      if (!res.headersSent) sendError(res, 500, 'INTERNAL_ERROR', 'unexpected error', requestId);
    }
  });
}
