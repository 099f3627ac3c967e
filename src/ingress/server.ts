import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { requestIdFrom } from '../ids.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Route } from '../observability/routes.js';
import { checkHealth, createListener, flatHeaders, DEFAULT_DRAIN, readBodyCapped, sendError, sendErrorAndClose, sendJson } from '../http.js';
import { statusFor } from './errors.js';
import type { WebhookHandler, WebhookOutcome } from './handle-webhook.js';
import { createSourceAddressResolver } from './source-address.js';

const WEBHOOK_PATH = /^\/api\/v1\/webhooks\/([A-Za-z0-9_-]{1,64})\/?$/;

/** See the server options below. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export interface IngressServerOptions {
  handleWebhook: WebhookHandler;
  healthChecks: Record<string, () => Promise<unknown>>;
  metrics: Pick<Metrics, 'ingressRequests'>;
  /** /api/v1/health/live and /ready (observability/routes.ts). */
  routes?: Route[];
  log: Logger;
  trustedProxies?: readonly string[];
  bodyTimeoutMs?: number;
  headersTimeoutMs?: number;
  /** `production`, `development` or `test`: said by the health output, so nobody has to guess. */
  mode?: string;
  /** Bytes read and discarded at most after a rejection, so the client can read the answer. */
  drainMaxBytes?: number;
}

// Shared with the management listener; re-exported for the callers that import it from here.
export { readBodyCapped } from '../http.js';

export function createIngressServer(options: IngressServerOptions): Server {
  const { log } = options;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? 10_000;
  const sourceAddress = createSourceAddressResolver(options.trustedProxies ?? []);

  async function route(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    if (options.routes?.some((serve) => serve(req, res, path, requestId))) return;
    if (path === '/api/v1/health') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, 'METHOD_NOT_ALLOWED', 'use GET', requestId, { allow: 'GET' });
      const report = await checkHealth(options.healthChecks);
      return sendJson(res, report.status === 'ok' ? 200 : 503, { ...report, mode: options.mode });
    }
    const match = WEBHOOK_PATH.exec(path);
    if (!match) return sendError(res, 404, 'NOT_FOUND', 'no such route', requestId);
    // GET goes to the handler too: some presets verify an endpoint with one (Okta); the rest answer 405.
    if (req.method !== 'POST' && req.method !== 'GET') return sendError(res, 405, 'METHOD_NOT_ALLOWED', 'use POST', requestId, { allow: 'POST' });

    const provider = match[1]!;
    const forwardedFor = req.headers['x-forwarded-for'];
    const sourceIp = sourceAddress(req.socket.remoteAddress, Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor);
    const outcome: WebhookOutcome = await options.handleWebhook({
      provider,
      requestId,
      sourceIp,
      headers: flatHeaders(req),
      method: req.method,
      query: queryAt < 0 ? '' : url.slice(queryAt + 1),
      readBody: (maxBytes) => readBodyCapped(req, maxBytes, bodyTimeoutMs),
    });
    if (outcome.kind === 'accepted') {
      return sendJson(res, 202, { eventId: outcome.eventId, status: 'accepted' }, { 'x-request-id': requestId });
    }
    if (outcome.kind === 'handshake') {
      // Byte for byte what the provider documents: its status, its content type, its body.
      const reply = outcome.reply;
      log.info({ provider, handshake: reply.kind, requestId, sourceIp }, 'webhook handshake answered');
      res.writeHead(reply.status, { ...reply.headers, 'x-content-type-options': 'nosniff', 'content-length': Buffer.byteLength(reply.body), 'x-request-id': requestId });
      res.end(reply.body);
      return;
    }
    const status = statusFor(outcome.code);
    // Unknown providers are anyone's to invent: at debug, so a flood of names is not a flood of lines.
    // A dependency outage (503) is logged once per change of state by the handler, not per request.
    log[outcome.code === 'NOT_FOUND' || outcome.code === 'SERVICE_UNAVAILABLE' ? 'debug' : status >= 500 ? 'error' : 'info'](
      { provider, code: outcome.code, status, requestId, sourceIp },
      'webhook rejected',
    );
    const headers: Record<string, string> = {};
    if (outcome.retryAfterSeconds !== undefined) headers['retry-after'] = String(outcome.retryAfterSeconds);
    // A body we stopped reading must not be left in the connection for the next request; the
    // rest is read and discarded first (bounded), so the client can read the answer (issue 12).
    if (!req.complete) {
      return sendErrorAndClose(req, res, status, outcome.code, outcome.message, requestId, headers, {
        maxBytes: options.drainMaxBytes ?? DEFAULT_DRAIN.maxBytes,
        timeoutMs: Math.min(bodyTimeoutMs, DEFAULT_DRAIN.timeoutMs),
      });
    }
    if (outcome.code === 'METHOD_NOT_ALLOWED') headers.allow = 'POST';
    sendError(res, status, outcome.code, outcome.message, requestId, headers);
  }

  const headersTimeoutMs = options.headersTimeoutMs ?? 10_000;
  // Slow clients: headers must arrive within headersTimeout, the body within bodyTimeout (our own
  // timer answers 408), and Node drops any request still open at requestTimeout. Node checks these
  // only every connectionsCheckingInterval, hence a short one.
  // Idle keep-alive sockets stay open KEEP_ALIVE_TIMEOUT_MS: a sender that backs off a few seconds after a 503
  // reuses its socket, and with Node's 5 s default the server closed it just as the request
  // left (the sender sees a dropped connection, not an answer). 65 s outlasts the usual idle
  // timeouts of the load balancers and clients in front of us, which then close first.
  return createListener(
    {
      headersTimeout: headersTimeoutMs,
      requestTimeout: bodyTimeoutMs + headersTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, headersTimeoutMs),
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    },
    (req, res) => {
      const requestId = requestIdFrom(req.headers['x-request-id']);
      route(req, res, requestId).catch((error: unknown) => {
        options.metrics.ingressRequests.inc({ provider: '(unknown)', outcome: 'INTERNAL_ERROR' });
        log.error({ requestId, err: error }, 'unexpected ingress failure');
        if (!res.headersSent) sendError(res, 500, 'INTERNAL_ERROR', 'unexpected error', requestId);
        else res.destroy();
      });
    },
  );
}
