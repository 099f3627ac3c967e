import { request } from 'node:http';
import { connect } from 'node:net';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestApp, TEST_API_KEY, type TestApp } from '../helpers/app.js';
import { describeWithServices } from '../helpers/services.js';

/** Streams `total` bytes in 64 KiB chunks (chunked unless a length is declared) and returns the status the client read. */
function streamBody(url: string, total: number, headers: Record<string, string>): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const target = new URL(url);
    const req = request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const writeMore = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', writeMore);
      }
      req.end();
    };
    writeMore();
  });
}

/** How long until the server closes a raw connection that sent `opening` and then nothing. */
function closedAfter(url: string, opening: string): Promise<{ ms: number; answer: string }> {
  return new Promise((resolve) => {
    const target = new URL(url);
    const started = Date.now();
    let answer = '';
    const socket = connect(Number(target.port), target.hostname, () => socket.write(opening));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', () => {});
    socket.on('close', () => resolve({ ms: Date.now() - started, answer }));
  });
}

describeWithServices('slow clients and oversized requests on both listeners', ['kafka', 'postgres', 'redis'], () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ INGRESS_HEADERS_TIMEOUT_MS: '1000', INGRESS_BODY_TIMEOUT_MS: '1500', INGRESS_MAX_BODY_BYTES: String(256 * 1024) });
    const created = await app.graphql<{ createIntegration: { __typename: string } }>(
      `mutation ($input: CreateIntegrationInput!) { createIntegration(input: $input) { __typename } }`,
      { input: { provider: 'acme', name: 'Acme', verification: { scheme: 'HMAC_SHA256', secret: 'acme-secret-0123456789abcdef' } } },
    );
    expect(created.data?.createIntegration.__typename).toBe('Integration');
  });

  afterAll(async () => {
    await app?.stop();
  });

  it('cuts a management client that trickles its headers at the headers deadline', async () => {
    const { ms } = await closedAfter(app.managementUrl, 'POST /graphql HTTP/1.1\r\nHost: x\r\n');
    expect(ms).toBeLessThan(4_000);
  });

  it('answers 408 to a management client that trickles its body', async () => {
    const { ms, answer } = await closedAfter(
      app.managementUrl,
      `POST /graphql HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\nx-internal-api-key: ${TEST_API_KEY}\r\ncontent-length: 1000\r\n\r\n{"query":`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(ms).toBeLessThan(5_000);
  });

  it('counts the bytes of a chunked management request, answering a 413 the client reads', async () => {
    const answer = await streamBody(`${app.managementUrl}/graphql`, 4 * 1024 * 1024, {
      'content-type': 'application/json',
      'x-internal-api-key': TEST_API_KEY,
      'transfer-encoding': 'chunked',
    });
    expect(answer).toMatchObject({ status: 413 });
    expect(JSON.parse((answer as { body: string }).body)).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
  });

  it('answers a streamed oversized webhook with a 413 the client reads, chunked or declared', async () => {
    const chunked = await streamBody(`${app.ingressUrl}/api/v1/webhooks/acme`, 2 * 1024 * 1024, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    expect(chunked).toMatchObject({ status: 413 });
    const declared = await streamBody(`${app.ingressUrl}/api/v1/webhooks/acme`, 1024 * 1024, {
      'content-type': 'application/json',
      'content-length': String(1024 * 1024),
    });
    expect(declared).toMatchObject({ status: 413 });
    // Still within bounds: an endless body is cut, not read for ever.
  });

  it('answers a WebSocket limit violation on its operation and keeps the socket open', async () => {
    const closes: number[] = [];
    const client = createClient({
      url: `${app.managementUrl.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { 'x-internal-api-key': TEST_API_KEY },
      retryAttempts: 0,
      on: { closed: (event) => void closes.push((event as { code: number }).code) },
    });
    const run = (query: string) =>
      new Promise<{ errors?: readonly { message: string }[]; data?: unknown }>((resolve) => {
        let result: { errors?: readonly { message: string }[]; data?: unknown } = {};
        client.subscribe(
          { query },
          {
            next: (value) => void (result = value as typeof result),
            error: (errors) => resolve({ errors: Array.isArray(errors) ? errors : [{ message: String((errors as Error).message ?? errors) }] }),
            complete: () => resolve(result),
          },
        );
      });
    const aliases = `{ ${Array.from({ length: 40 }, (_, index) => `a${index}: integration(provider: "x") { id }`).join(' ')} }`;
    const tokens = `{ ${'__typename '.repeat(3000)} }`;
    const huge = `{ __typename } # ${'x'.repeat(100 * 1024)}`;
    for (const query of [aliases, tokens, huge]) {
      const answer = await run(query);
      expect(answer.errors?.length ?? 0, `${query.slice(0, 40)}: ${JSON.stringify(answer).slice(0, 300)}`).toBeGreaterThan(0);
    }
    expect(await run('{ __typename }')).toMatchObject({ data: { __typename: 'Query' } });
    expect(closes).toEqual([]);
    await client.dispose();
  });
});
