import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createYoga, type Plugin } from 'graphql-yoga';
import type { Database } from '../db/client.js';
import { errorEnvelope } from '../ingress/errors.js';
import type { IntegrationDirectory } from '../ingress/integration-directory.js';
import { requestIdFrom } from '../ids.js';
import type { Logger } from '../log.js';
import { checkHealth, sendError, sendJson } from '../http.js';
import { createManagementKeys } from './auth.js';
import type { GraphContext } from './context.js';
import { buildSchema } from './schema/index.js';

type ServerContext = { req: IncomingMessage; res: ServerResponse; requestId: string; actor: string };

export interface ManagementServerOptions {
  db: Database;
  log: Logger;
  apiKeys: readonly string[];
  integrations: IntegrationDirectory;
  destinationGuard: GraphContext['destinationGuard'];
  status: GraphContext['status'];
  production: boolean;
  healthChecks: Record<string, () => Promise<unknown>>;
}

export const API_KEY_HEADER = 'x-internal-api-key';

export function createManagementServer(options: ManagementServerOptions): Server {
  const keys = createManagementKeys(options.apiKeys);
  const { log } = options;

  const yoga = createYoga<ServerContext, GraphContext>({
    schema: buildSchema(),
    graphqlEndpoint: '/graphql',
    graphiql: !options.production,
    landingPage: false,
    // Unexpected errors are masked; typed errors and GraphQLErrors reach the client.
    maskedErrors: true,
    logging: {
      debug: (...args) => log.debug({ args }, 'yoga'),
      info: (...args) => log.debug({ args }, 'yoga'),
      warn: (...args) => log.warn({ args }, 'yoga'),
      error: (...args) => log.error({ args }, 'yoga'),
    },
    plugins: [requestIdHeader()],
    context: ({ req, requestId, actor }) => ({
      db: options.db,
      log: log.child({ requestId }),
      requestId,
      actor,
      sourceIp: req.socket.remoteAddress ?? null,
      integrations: options.integrations,
      destinationGuard: options.destinationGuard,
      status: options.status,
    }),
  });

  return createServer((req, res) => {
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const path = (req.url ?? '/').split('?', 1)[0]!;
    if (path === '/api/v1/health') {
      checkHealth(options.healthChecks)
        .then((report) => sendJson(res, report.status === 'ok' ? 200 : 503, report))
        .catch(() => sendError(res, 500, 'INTERNAL_ERROR', 'health check failed', requestId));
      return;
    }
    if (path !== '/graphql') return sendError(res, 404, 'NOT_FOUND', 'no such route', requestId);
    // GraphiQL's page itself carries no data; everything it sends is authenticated like any request.
    const wantsGraphiql =
      !options.production && req.method === 'GET' && (req.headers.accept ?? '').includes('text/html');
    const actor = keys.authenticate(req.headers[API_KEY_HEADER] as string | undefined);
    if (!actor && !wantsGraphiql) {
      return sendError(res, 401, 'UNAUTHORIZED', `missing or invalid ${API_KEY_HEADER}`, requestId);
    }
    yoga.handle(req, res, { requestId, actor: actor ?? 'anonymous' }).catch((error: unknown) => {
      log.error({ requestId, err: error }, 'unexpected management API failure');
      if (!res.headersSent) sendJson(res, 500, errorEnvelope('INTERNAL_ERROR', 'unexpected error', requestId));
    });
  });
}

function requestIdHeader(): Plugin<ServerContext> {
  return {
    onResponse({ response, serverContext }) {
      const requestId = (serverContext as Partial<ServerContext> | undefined)?.requestId;
      if (requestId) response.headers.set('x-request-id', requestId);
    },
  };
}
