import { startApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { TEST_API_KEY } from './app.js';

type GraphqlResult<T> = { data?: T; errors?: { message: string; extensions?: Record<string, unknown> }[] };

export interface InProcessApp {
  ingressUrl?: string;
  managementUrl?: string;
  graphql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>): Promise<GraphqlResult<T>>;
  stop(): Promise<void>;
}

/**
 * Starts the roles in `env` in this process on a database the caller owns (unlike `startTestApp`,
 * which creates its own), so child processes and the in-process app can share one deployment.
 * Logs are silent unless TEST_LOG_LEVEL says otherwise; ports default to any free one.
 */
export async function startAppOn(env: Record<string, string>): Promise<InProcessApp> {
  const config = loadConfig({
    INGRESS_PORT: '0',
    MANAGEMENT_PORT: '0',
    METRICS_PORT: '0',
    ...env,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  });
  const app = await startApp(config, createLogger({ level: config.logLevel }));
  return {
    ingressUrl: app.ingressUrl,
    managementUrl: app.managementUrl,
    async graphql<T>(query: string, variables?: Record<string, unknown>) {
      if (!app.managementUrl) throw new Error('this app has no graph role');
      const response = await fetch(`${app.managementUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-internal-api-key': TEST_API_KEY },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as GraphqlResult<T>;
    },
    stop: () => app.stop(),
  };
}

/** A Standard Webhooks destination secret: `whsec_` and base64 of 32 random bytes. */
export function destinationSecret(): string {
  return `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}`;
}

/**
 * Creates an HMAC_SHA256 integration keyed by `$.id`, with a high rate limit and the given
 * destinations; returns its id and its destinations' ids in order.
 */
export async function createHmacIntegration(
  app: InProcessApp,
  input: { provider: string; secret: string; destinations?: { url: string; secret: string }[] },
): Promise<{ id: string; destinationIds: string[] }> {
  const result = await app.graphql<{ createIntegration: { __typename: string; id?: string; destinations?: { id: string }[] } }>(
    `mutation ($input: CreateIntegrationInput!) {
       createIntegration(input: $input) { __typename ... on Integration { id destinations { id } } ... on Error { message } }
     }`,
    {
      input: {
        provider: input.provider,
        name: input.provider,
        verification: { scheme: 'HMAC_SHA256', secret: input.secret, eventKeyPath: '$.id' },
        destinations: input.destinations ?? [],
        rateLimitPerMinute: 10_000_000,
      },
    },
  );
  const created = result.data?.createIntegration;
  if (created?.__typename !== 'Integration' || !created.id) throw new Error(`createIntegration failed: ${JSON.stringify(result)}`);
  return { id: created.id, destinationIds: (created.destinations ?? []).map((destination) => destination.id) };
}
