import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { GraphQLError, type DocumentNode, type ExecutionArgs } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { createYoga, type Plugin } from 'graphql-yoga';
import { WebSocketServer } from 'ws';
import type { Database } from '../db/client.js';
import { checkHealth, createListener, readBodyCapped, sendError, sendErrorAndClose, sendJson } from '../http.js';
import { requestIdFrom } from '../ids.js';
import { errorEnvelope } from '../ingress/errors.js';
import type { IntegrationDirectory } from '../ingress/integration-directory.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Route } from '../observability/routes.js';
import { createManagementKeys, type Caller } from './auth.js';
import { consoleRoute } from './console-route.js';
import { useOperationMetrics } from './operation-metrics.js';
import { refuseMutationsToReadOnlyKeys } from './read-only.js';
import { useClosedErrors, useNoIntrospection } from './closed-errors.js';
import { SINK_PATH, type createDeliverySink } from './delivery-sink.js';
import type { GraphContext } from './context.js';
import { createFanOut, type SubscriberSocket } from './fan-out.js';
import type { LiveFeed } from './live-feed.js';
import { guardSchemaInputs } from './input-rules.js';
import { createLoaders } from './loaders.js';
import { buildSchema } from './schema/index.js';

type DeliverySink = ReturnType<typeof createDeliverySink>;
type ServerContext = { req: IncomingMessage; res?: ServerResponse; requestId: string; caller: Caller };

export interface ManagementServerOptions {
  db: Database;
  log: Logger;
  apiKeys: readonly string[];
  /** May query and subscribe, never mutate (MANAGEMENT_READ_KEYS). */
  readKeys?: readonly string[];
  metrics?: Metrics;
  /** Health (/live, /ready) and /metrics, answered before any key is asked for. */
  routes?: Route[];
  /** Where the built console lives (dist/console); served at /console. */
  consoleDir?: string;
  integrations: IntegrationDirectory;
  destinationGuard: GraphContext['destinationGuard'];
  status: GraphContext['status'];
  live: LiveFeed;
  consumerLag: GraphContext['consumerLag'];
  settings: GraphContext['settings'];
  production: boolean;
  healthChecks: Record<string, () => Promise<unknown>>;
  /** `production`, `development` or `test`: said by the health output. */
  mode?: string;
  /** Slow clients: the same deadlines as the ingress (headers, then the body). */
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /** The built-in delivery sink; never given in production. */
  sink?: DeliverySink;
}

export const API_KEY_HEADER = 'x-internal-api-key';
const MAX_BODY_BYTES = 64 * 1024;
const GRAPHIQL_QUERY = `# Put your management key in the Headers tab below: {"${API_KEY_HEADER}": "<key>"}
query Viewer {
  viewer { actor readOnly }
}
`;
const WS_MAX_MESSAGE_BYTES = 1024 * 1024;

/** Limits on every operation, whatever the transport (graphql-armor rather than hand-rolled rules). */
function armor() {
  return EnvelopArmorPlugin({
    maxDepth: { n: 8, ignoreIntrospection: true, flattenFragments: true },
    costLimit: { maxCost: 5000, objectCost: 2, scalarCost: 1, depthCostFactor: 1.5, ignoreIntrospection: true },
    // __typename aliases count like any other (armor allows them by default: 500 passed).
    maxAliases: { n: 15, allowList: [] },
    maxTokens: { n: 2000 },
    maxDirectives: { n: 20 },
    blockFieldSuggestion: { enabled: true },
  });
}

export function createManagementServer(options: ManagementServerOptions): { server: Server; close(): Promise<void> } {
  const keys = createManagementKeys(options.apiKeys, options.readKeys);
  const { log } = options;
  const routes = [...(options.routes ?? []), ...(options.consoleDir ? [consoleRoute(options.consoleDir)] : [])];
  const operationMetrics = options.metrics ? useOperationMetrics(options.metrics) : undefined;

  const contextFor = (req: IncomingMessage | undefined, requestId: string, caller: Caller): GraphContext => ({
    db: options.db,
    log: log.child({ requestId }),
    requestId,
    actor: caller.actor,
    readOnly: caller.readOnly,
    sourceIp: req?.socket.remoteAddress ?? null,
    integrations: options.integrations,
    destinationGuard: options.destinationGuard,
    status: options.status,
    live: options.live,
    loaders: createLoaders(options.db),
    consumerLag: options.consumerLag,
    settings: options.settings,
  });

  // graphql-ws subscribers share one execution per message and document (fan-out.ts).
  const fanOut = createFanOut({
    live: options.live,
    newContext: () => contextFor(undefined, requestIdFrom(undefined), { actor: 'subscription', readOnly: true }),
    log,
  });

  const yoga = createYoga<ServerContext, GraphContext>({
    schema: refuseMutationsToReadOnlyKeys(guardSchemaInputs(buildSchema())),
    graphqlEndpoint: '/graphql',
    // GraphiQL from the project's own dependencies (no CDN), outside production only.
    graphiql: options.production
      ? false
      : {
          title: 'Hookgate GraphiQL',
          headers: JSON.stringify({ [API_KEY_HEADER]: '<your management key>' }, null, 2),
          defaultQuery: GRAPHIQL_QUERY,
          subscriptionsProtocol: 'WS',
        },
    // GraphiQL's bundle is 9 MB of JavaScript: loaded on the first page view, not at every start.
    renderGraphiQL: async (graphiqlOptions) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(graphiqlOptions),
    landingPage: false,
    // Unexpected errors are masked; typed errors and GraphQLErrors reach the client.
    maskedErrors: true,
    logging: {
      debug: (...args) => log.debug({ args }, 'yoga'),
      info: (...args) => log.debug({ args }, 'yoga'),
      warn: (...args) => log.warn({ args }, 'yoga'),
      error: (...args) => log.error({ args }, 'yoga'),
    },
    plugins: [
      armor(),
      useClosedErrors(),
      ...(options.production ? [useNoIntrospection()] : []),
      requestIdHeader(),
      ...(operationMetrics ? [operationMetrics] : []),
    ],
    context: ({ req, requestId, caller }) => contextFor(req, requestId, caller),
  });

  const headersTimeoutMs = options.headersTimeoutMs ?? 10_000;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? 10_000;
  // The ingress's deadlines (see ingress/server.ts): headers within headersTimeout, the body within
  // bodyTimeout (our own timer answers 408), anything still open at requestTimeout is dropped.
  // Responses are not covered: SSE subscriptions stay open as long as the client wants them.
  const server = createListener({
    headersTimeout: headersTimeoutMs,
    requestTimeout: bodyTimeoutMs + headersTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, headersTimeoutMs),
    keepAliveTimeout: 5_000,
  }, (req, res) => {
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const path = (req.url ?? '/').split('?', 1)[0]!;
    if (routes.some((route) => route(req, res, path, requestId))) return;
    if (path === '/api/v1/health') {
      checkHealth(options.healthChecks)
        .then((report) => sendJson(res, report.status === 'ok' ? 200 : 503, { ...report, mode: options.mode }))
        .catch(() => sendError(res, 500, 'INTERNAL_ERROR', 'health check failed', requestId));
      return;
    }
    const sinkMatch = options.sink ? SINK_PATH.exec(path) : null;
    if (sinkMatch && options.sink && req.method === 'POST') {
      // Deliveries carry no management key (they never do): the sink checks their signature instead.
      options.sink.receive(req, res, sinkMatch[1]!, requestId).catch((error: unknown) => {
        log.error({ requestId, err: error }, 'delivery sink failed');
        if (!res.headersSent) sendError(res, 500, 'INTERNAL_ERROR', 'unexpected error', requestId);
      });
      return;
    }
    if (sinkMatch && options.sink && req.method === 'GET') {
      if (!keys.authenticate(req.headers[API_KEY_HEADER] as string | undefined)) {
        return sendError(res, 401, 'UNAUTHORIZED', `missing or invalid ${API_KEY_HEADER}`, requestId);
      }
      return options.sink.list(res, sinkMatch[1]!);
    }
    if (path !== '/graphql') return sendError(res, 404, 'NOT_FOUND', 'no such route', requestId);
    // GraphiQL's page itself carries no data; every request it sends is authenticated like any other.
    const wantsGraphiql = !options.production && req.method === 'GET' && (req.headers.accept ?? '').includes('text/html');
    const caller = keys.authenticate(req.headers[API_KEY_HEADER] as string | undefined);
    if (!caller && !wantsGraphiql) {
      return sendError(res, 401, 'UNAUTHORIZED', `missing or invalid ${API_KEY_HEADER}`, requestId);
    }
    // yoga may answer synchronously (no promise); both paths end in the same error handler.
    Promise.resolve()
      .then(async () => {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          // The limit counts the bytes actually read, chunked or not (Content-Length is only a claim).
          const read = await readBodyCapped(req, MAX_BODY_BYTES, bodyTimeoutMs);
          if (!read.ok) {
            if (read.reason === 'ABORTED') return void res.destroy();
            if (read.reason === 'TIMEOUT') return sendError(res, 408, 'REQUEST_TIMEOUT', 'the request body was not received in time', requestId, { connection: 'close' });
            return sendErrorAndClose(req, res, 413, 'PAYLOAD_TOO_LARGE', `GraphQL requests are limited to ${MAX_BODY_BYTES} bytes`, requestId);
          }
          // yoga's node adapter takes an already-read body from `req.body` instead of the stream.
          if (read.body.length > 0) (req as IncomingMessage & { body?: Buffer }).body = read.body;
        }
        return yoga.handle(req, res, { requestId, caller: caller ?? { actor: 'anonymous', readOnly: true } });
      })
      .catch((error: unknown) => {
        log.error({ requestId, err: error }, 'unexpected management API failure');
        if (!res.headersSent) sendJson(res, 500, errorEnvelope('INTERNAL_ERROR', 'unexpected error', requestId));
      });
  });

  // graphql-ws on the same path: the key travels in connectionParams and is checked before any operation.
  // The transport's own cap is wider than one operation's, so that an oversized operation is
  // answered on its id (above) instead of closing the socket; past this cap the socket closes.
  const wsServer = new WebSocketServer({ server, path: '/graphql', maxPayload: WS_MAX_MESSAGE_BYTES });
  const wsCleanup = useServer<Record<string, unknown>, { caller?: Caller; requestId?: string }>(
    {
      onConnect: (ctx) => {
        const presented = ctx.connectionParams?.[API_KEY_HEADER];
        if (typeof presented !== 'string' || presented === '') {
          ctx.extra.socket.close(CloseCode.Unauthorized, 'Unauthorized');
          return false;
        }
        const caller = keys.authenticate(presented);
        if (!caller) return false; // graphql-ws closes with 4403 Forbidden
        ctx.extra.caller = caller;
        ctx.extra.requestId = requestIdFrom(undefined);
        return true;
      },
      onSubscribe: async (ctx, id, payload) => {
        const { schema, execute, subscribe, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
        });
        // A limit violation answers an error for this operation; the socket and its other
        // operations carry on (graphql-ws closes the socket on anything thrown from here).
        if (Buffer.byteLength(JSON.stringify(payload)) > MAX_BODY_BYTES) {
          return [new GraphQLError(`GraphQL operations are limited to ${MAX_BODY_BYTES} bytes`, { extensions: { code: 'PAYLOAD_TOO_LARGE' } })];
        }
        // Limit rules (graphql-armor) throw from parse and validate rather than report.
        let document: DocumentNode;
        let errors: readonly GraphQLError[];
        try {
          document = parse(payload.query);
          errors = validate(schema, document);
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          log.error({ err: error }, 'unexpected failure checking a WebSocket operation');
          return [new GraphQLError('Unexpected error.')];
        }
        if (errors.length > 0) return errors;
        const args: ExecutionArgs = {
          schema,
          operationName: payload.operationName ?? null,
          document,
          variableValues: payload.variables ?? null,
          contextValue: contextFor(ctx.extra.request, ctx.extra.requestId!, ctx.extra.caller!),
          rootValue: { execute, subscribe, id, query: payload.query, socket: ctx.extra.socket },
        };
        return args;
      },
      execute: (args) => (args.rootValue as { execute: (a: ExecutionArgs) => never }).execute(args),
      subscribe: (args) => {
        const root = args.rootValue as { subscribe: (a: ExecutionArgs) => never; id: string; query: string; socket: SubscriberSocket };
        return (fanOut.subscribe(args, root) as never) ?? root.subscribe(args);
      },
    },
    wsServer,
  );

  options.metrics?.liveSubscriptions.set(0);
  options.metrics?.onScrape(() => {
    options.metrics?.liveSubscriptions.set(fanOut.stats().subscribers + (operationMetrics?.active() ?? 0));
    return Promise.resolve();
  });

  return {
    server,
    async close() {
      fanOut.stop();
      await wsCleanup.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}

function requestIdHeader(): Plugin<ServerContext> {
  return {
    onResponse({ response, serverContext }) {
      const requestId = (serverContext as Partial<ServerContext> | undefined)?.requestId;
      if (requestId) response.headers.set('x-request-id', requestId);
    },
  };
}
