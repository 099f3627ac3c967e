import { randomBytes } from 'node:crypto';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { describeWithServices } from '../helpers/services.js';

const PRODUCTION_KEY = 'a-production-management-key-0123456789';

describeWithServices('production means closed', ['kafka', 'postgres', 'redis'], () => {
  let app: TestApp;
  const lines: string[] = [];

  const post = async (query: string, variables?: Record<string, unknown>) => {
    const response = await fetch(`${app.managementUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-internal-api-key': PRODUCTION_KEY },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as { data?: unknown; errors?: { message: string }[] };
  };

  const overWebSocket = async (query: string) => {
    const client = createClient({
      url: `${app.managementUrl.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { 'x-internal-api-key': PRODUCTION_KEY },
      retryAttempts: 0,
    });
    try {
      return await new Promise<{ data?: unknown; errors?: readonly { message: string }[] }>((resolve) => {
        let result: { data?: unknown; errors?: readonly { message: string }[] } = {};
        client.subscribe(
          { query },
          {
            next: (value) => void (result = value as typeof result),
            error: (errors) => resolve({ errors: Array.isArray(errors) ? errors : [{ message: String(errors) }] }),
            complete: () => resolve(result),
          },
        );
      });
    } finally {
      await client.dispose();
    }
  };

  beforeAll(async () => {
    app = await startTestApp({ NODE_ENV: 'production', MANAGEMENT_API_KEY: PRODUCTION_KEY, HOOKGATE_ENCRYPTION_KEYS: randomBytes(32).toString('base64'), LOG_LEVEL: 'info' }, { logWrite: (line) => void lines.push(line) });
  });

  afterAll(async () => {
    await app?.stop();
  });

  it('says which mode it runs in, at start and on both health endpoints', async () => {
    const started = lines.map((line) => JSON.parse(line) as { msg: string; mode?: string }).find((line) => line.msg.startsWith('hookgate started'));
    expect(started?.mode).toBe('production');
    for (const url of [app.ingressUrl, app.managementUrl]) {
      expect(await (await fetch(`${url}/api/v1/health`)).json()).toMatchObject({ mode: 'production' });
    }
  });

  it('refuses introspection over HTTP and over WebSocket', async () => {
    for (const query of ['{ __schema { types { name } } }', '{ __type(name: "Event") { name fields { name } } }']) {
      const http = await post(query);
      expect(http.data).toBeUndefined();
      expect(http.errors?.length).toBeGreaterThan(0);
      const ws = await overWebSocket(query);
      expect(ws.data).toBeUndefined();
      expect(ws.errors?.length, JSON.stringify(ws)).toBeGreaterThan(0);
    }
  });

  it('suggests nothing, in documents or in variables, and quotes no variable value back', async () => {
    const secret = 'a-secret-that-must-not-come-back-0123456789';
    const answers = [
      await post('{ integratons(first: 1) { edges { cursor } } }'),
      await post('{ replayRequests(first: 1, status: PENDNG) { edges { cursor } } }'),
      await post('query ($s: ReplayStatus) { replayRequests(first: 1, status: $s) { edges { cursor } } }', { s: 'PENDNG' }),
      await post('mutation ($input: CreateIntegrationInput!) { createIntegration(input: $input) { __typename } }', {
        input: { provider: 'p', name: 'n', verificaton: { scheme: 'HMAC_SHA256', secret } },
      }),
      await post('mutation ($input: CreateIntegrationInput!) { createIntegration(input: $input) { __typename } }', {
        input: { provider: 'p', name: 'n', verification: { scheme: 'HMAC_SHA25', secret } },
      }),
      await post('mutation ($input: RotateIntegrationSecretInput!) { rotateIntegrationSecret(input: $input) { __typename } }', {
        input: { id: 42, secret, previousSecretTtlSeconds: secret },
      }),
      await overWebSocket('{ integratons(first: 1) { edges { cursor } } }'),
    ];
    for (const answer of answers) {
      const text = JSON.stringify(answer);
      expect(answer.errors?.length, text).toBeGreaterThan(0);
      expect(text).not.toMatch(/did you mean/i);
      expect(text).not.toContain(secret);
    }
  });

  it('counts __typename aliases against the alias limit', async () => {
    const many = `{ ${Array.from({ length: 500 }, (_, index) => `t${index}: __typename`).join(' ')} }`;
    const answer = await post(many);
    expect(answer.data).toBeUndefined();
    expect(answer.errors?.[0]?.message).toMatch(/alias/i);
  });
});
