import { connect } from 'node:net';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeIngressMessage } from '../../src/ports/ingress-codec.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { javaPartitionFor, secretFor, signers } from '../helpers/providers.js';
import { describeWithServices, services } from '../helpers/services.js';
import { postWebhook } from '../helpers/signing.js';

const SCHEMES = ['HMAC_SHA256', 'SHARED_TOKEN', 'STRIPE', 'GITHUB', 'SHOPIFY', 'SLACK', 'STANDARD_WEBHOOKS'] as const;

describeWithServices('ingress on real Kafka and Redis', ['kafka', 'postgres', 'redis'], () => {
  let app: TestApp;
  const integrations = new Map<string, { id: string; secret: string; provider: string }>();

  async function createIntegration(provider: string, scheme: string, extra: Record<string, unknown> = {}) {
    const secret = secretFor(scheme);
    const result = await app.graphql<{ createIntegration: { __typename: string; id: string; message?: string } }>(
      `mutation ($input: CreateIntegrationInput!) {
         createIntegration(input: $input) { __typename ... on Integration { id } ... on Error { message } }
       }`,
      { input: { provider, name: provider, verification: { scheme, secret }, ...extra } },
    );
    expect(result.data?.createIntegration.__typename, JSON.stringify(result)).toBe('Integration');
    const created = { id: result.data!.createIntegration.id, secret, provider };
    integrations.set(provider, created);
    return created;
  }

  beforeAll(async () => {
    // Proxies on loopback are trusted so a test can speak for other source addresses.
    app = await startTestApp({ TRUSTED_PROXIES: '127.0.0.1,::1', INGRESS_HEADERS_TIMEOUT_MS: '1000', INGRESS_BODY_TIMEOUT_MS: '1500' });
    for (const scheme of SCHEMES) await createIntegration(scheme.toLowerCase().replaceAll('_', '-'), scheme);
  });
  afterAll(async () => {
    await app?.stop();
  });

  it.each(SCHEMES)('%s: accepts the provider-signed form and rejects a tampered body', async (scheme) => {
    const { provider, secret } = integrations.get(scheme.toLowerCase().replaceAll('_', '-'))!;
    const body = JSON.stringify({ id: `evt_${scheme}_${Date.now()}`, type: 'thing.happened', event_id: `Ev${Date.now()}` });
    const headers = await signers[scheme]!(body, secret);
    const accepted = await postWebhook(app.ingressUrl, provider, body, headers);
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);

    if (scheme === 'SHARED_TOKEN') return; // a token does not bind the body
    const tampered = await postWebhook(app.ingressUrl, provider, body.replace('thing', 'thong'), headers);
    expect(tampered.status).toBe(401);
    expect(tampered.body).toEqual({ error: { code: 'SIGNATURE_INVALID', message: expect.any(String), requestId: expect.any(String) } });
  });

  it.each(['STRIPE', 'SLACK', 'STANDARD_WEBHOOKS'] as const)('%s: refuses stale and future timestamps, each by name', async (scheme) => {
    const { provider, secret } = integrations.get(scheme.toLowerCase().replaceAll('_', '-'))!;
    const body = JSON.stringify({ id: 'evt_time', type: 'x' });
    const now = Math.floor(Date.now() / 1000);
    const stale = await postWebhook(app.ingressUrl, provider, body, await signers[scheme]!(body, secret, { timestamp: now - 301 - 5 }));
    expect((stale.body.error as { code: string }).code).toBe('TIMESTAMP_TOO_OLD');
    const future = await postWebhook(app.ingressUrl, provider, body, await signers[scheme]!(body, secret, { timestamp: now + 301 + 5 }));
    expect((future.body.error as { code: string }).code).toBe('TIMESTAMP_TOO_NEW');
  });

  it('GITHUB: keys the event by X-GitHub-Delivery, so a redelivery answers with the same id', async () => {
    const { provider, secret } = integrations.get('github')!;
    const id = crypto.randomUUID();
    const first = await postWebhook(app.ingressUrl, provider, '{"action":"opened"}', await signers.GITHUB!('{"action":"opened"}', secret, { id }));
    const again = await postWebhook(app.ingressUrl, provider, '{"action":"opened","redelivered":true}', await signers.GITHUB!('{"action":"opened","redelivered":true}', secret, { id }));
    expect(first.status).toBe(202);
    expect(again.body.eventId).toBe(first.body.eventId);
  });

  it('rotation: both secrets verify during the grace period, and the old one stops after it', async () => {
    const { id, provider, secret: oldSecret } = await createIntegration('rotating', 'HMAC_SHA256');
    const newSecret = secretFor('HMAC_SHA256');
    const rotate = await app.graphql<{ rotateIntegrationSecret: { __typename: string; secretRotatedAt: string } }>(
      `mutation ($input: RotateIntegrationSecretInput!) {
         rotateIntegrationSecret(input: $input) { __typename ... on Integration { secretRotatedAt previousSecretExpiresAt } }
       }`,
      { input: { id, secret: newSecret, previousSecretTtlSeconds: 2 } },
    );
    expect(rotate.data?.rotateIntegrationSecret.__typename).toBe('Integration');
    expect(JSON.stringify(rotate)).not.toContain(newSecret);

    const body = JSON.stringify({ id: `rot-${Date.now()}` });
    const send = async (secret: string) => (await postWebhook(app.ingressUrl, provider, body, await signers.HMAC_SHA256!(body, secret))).status;
    expect(await send(newSecret)).toBe(202);
    expect(await send(oldSecret)).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 2200));
    expect(await send(oldSecret)).toBe(401);
    expect(await send(newSecret)).toBe(202);

    const sql = postgres(app.database.url, { max: 1 });
    const entries = await sql<{ actor: string; details: Record<string, unknown> }[]>`
      select actor, details from audit_entries where action = 'integration.secret_rotated' and target_id = ${id}`;
    await sql.end();
    expect(entries).toHaveLength(1);
    expect(entries[0]!.actor).toMatch(/^key:[0-9a-f]{12}$/);
    expect(JSON.stringify(entries)).not.toContain(newSecret);
    expect(JSON.stringify(entries)).not.toContain(oldSecret);
  });

  it('rate limit: the request past the integration limit gets 429 with Retry-After; other addresses are unaffected', async () => {
    const { provider, secret } = await createIntegration('limited', 'HMAC_SHA256', { rateLimitPerMinute: 3 });
    const send = async (forwardedFor: string) => {
      const body = JSON.stringify({ id: crypto.randomUUID() });
      return postWebhook(app.ingressUrl, provider, body, { ...(await signers.HMAC_SHA256!(body, secret)), 'x-forwarded-for': forwardedFor });
    };
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await send('198.51.100.10')).status);
    expect(statuses).toEqual([202, 202, 202]);
    const limited = await send('198.51.100.10');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((limited.body.error as { code: string }).code).toBe('RATE_LIMITED');
    expect((await send('198.51.100.11')).status).toBe(202);
  });

  it('answers a 5 MiB body with 413 before the client has sent it all', async () => {
    const { provider } = integrations.get('hmac-sha256')!;
    const url = new URL(app.ingressUrl);
    const total = 5 * 1024 * 1024;
    const result = await new Promise<{ status: string; sentBytes: number }>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname);
      let sentBytes = 0;
      let response = '';
      let timer: NodeJS.Timeout | undefined;
      socket.on('error', (error) => (response ? undefined : reject(error)));
      socket.on('data', (chunk) => {
        response += chunk.toString();
        clearTimeout(timer);
        resolve({ status: response.split('\r\n', 1)[0]!, sentBytes });
        socket.destroy();
      });
      socket.write(
        `POST /api/v1/webhooks/${provider} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n`,
      );
      const chunk = Buffer.alloc(64 * 1024, 'a');
      // Slow sender: 64 KiB every 5 ms, so the whole body would take ~400 ms.
      const sendMore = () => {
        if (sentBytes >= total || socket.destroyed) return;
        socket.write(`${chunk.length.toString(16)}\r\n`);
        socket.write(chunk);
        socket.write('\r\n');
        sentBytes += chunk.length;
        timer = setTimeout(sendMore, 5);
      };
      sendMore();
    });
    expect(result.status).toBe('HTTP/1.1 413 Payload Too Large');
    expect(result.sentBytes).toBeLessThan(total / 2);
  });

  it('answers 408 to a client that sends headers too slowly (taking nothing it sends after) and to one that stalls in the body', async () => {
    const url = new URL(app.ingressUrl);
    const { provider } = integrations.get('hmac-sha256')!;
    const exchange = (start: string) =>
      new Promise<{ response: string; ms: number }>((resolve, reject) => {
        const began = Date.now();
        const socket = connect(Number(url.port), url.hostname);
        let response = '';
        socket.on('data', (chunk) => (response += chunk.toString()));
        socket.on('close', () => resolve({ response, ms: Date.now() - began }));
        socket.on('error', reject);
        socket.write(start);
        setTimeout(() => socket.destroy(), 8000).unref();
      });
    const slowHeaders = await exchange(`POST /api/v1/webhooks/${provider} HTTP/1.1\r\nhost: x\r\n`);
    expect(slowHeaders.ms).toBeLessThan(5000);
    expect(slowHeaders.response.split('\r\n', 1)[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(slowHeaders.response).toContain('"code":"REQUEST_TIMEOUT"');

    // Review found it: the rest of a request answered 408, sent after the answer, was still taken.
    const { secret } = integrations.get('hmac-sha256')!;
    const lateBody = JSON.stringify({ id: `after-408-${Date.now()}` });
    const lateHeaders = await signers.HMAC_SHA256!(lateBody, secret);
    const late = await new Promise<{ response: string; closedAfterAnswer: boolean }>((resolve) => {
      const socket = connect({ port: Number(url.port), host: url.hostname, allowHalfOpen: true });
      let response = '';
      socket.on('data', (chunk) => {
        response += chunk.toString();
        if (!response.includes('"code":"REQUEST_TIMEOUT"')) return;
        const rest = Object.entries({ ...lateHeaders, 'content-type': 'application/json', 'content-length': String(lateBody.length) })
          .map(([name, value]) => `${name}: ${value}\r\n`)
          .join('');
        socket.write(`${rest}\r\n${lateBody}`, () => {});
      });
      socket.on('error', () => {});
      // The server's side ends (half open on ours, so the late bytes can still be written).
      socket.on('end', () => resolve({ response, closedAfterAnswer: true }));
      socket.on('close', () => resolve({ response, closedAfterAnswer: true }));
      socket.write(`POST /api/v1/webhooks/${provider} HTTP/1.1\r\nhost: x\r\n`);
      // A header line now and then: slow, but never silent.
      const trickle = setInterval(() => !response && socket.write('x-trickle: a\r\n', () => {}), 300);
      socket.on('close', () => clearInterval(trickle));
      setTimeout(() => (clearInterval(trickle), socket.destroy(), resolve({ response, closedAfterAnswer: false })), 8000).unref();
    });
    expect(late.response.split('\r\n', 1)[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(late.response.match(/HTTP\/1\.1 \d{3} /g)).toEqual(['HTTP/1.1 408 ']);
    expect(late.closedAfterAnswer).toBe(true);
    const sql = postgres(app.database.url, { max: 1 });
    try {
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(await sql`select 1 from events where raw_body = ${Buffer.from(lateBody)}`).toHaveLength(0);
    } finally {
      await sql.end();
    }
    const stalledBody = await exchange(
      `POST /api/v1/webhooks/${provider} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"id":`,
    );
    expect(stalledBody.response.split('\r\n', 1)[0]).toBe('HTTP/1.1 408 Request Timeout');
    expect(stalledBody.response).toContain('"code":"REQUEST_TIMEOUT"');
    expect(stalledBody.ms).toBeLessThan(5000);
  });

  it('answers bad content with specific codes', async () => {
    const { provider, secret } = integrations.get('hmac-sha256')!;
    const signed = async (body: string, contentType = 'application/json') =>
      postWebhook(app.ingressUrl, provider, body, { ...(await signers.HMAC_SHA256!(body, secret)), 'content-type': contentType });
    expect((await signed('[1,2,3]')).status).toBe(400);
    expect((await signed('{"broken":')).status).toBe(400);
    expect((await signed('{"a":1}', 'text/plain')).status).toBe(415);
    expect((await postWebhook(app.ingressUrl, 'no-such-provider', '{}', {})).status).toBe(404);
  });

  it('answers a request Node\'s parser refuses in the error envelope, on both listeners, and closes', async () => {
    // Raw bytes on a socket: fetch itself refuses to send most of these.
    // `then`, when given, is sent once the first answer has fully arrived (not pipelined).
    const exchange = (base: string, request: string, then?: string) =>
      new Promise<string>((resolve, reject) => {
        const url = new URL(base);
        const socket = connect(Number(url.port), url.hostname);
        let response = '';
        socket.on('data', (chunk) => {
          response += chunk.toString('latin1');
          if (then !== undefined && /\r\n\r\n\{.*\}$/s.test(response)) {
            socket.write(then, 'latin1');
            then = undefined;
          }
        });
        socket.on('close', () => resolve(response));
        socket.on('error', reject);
        socket.write(request, 'latin1');
        setTimeout(() => socket.destroy(), 5000).unref();
      });
    const { provider } = integrations.get('hmac-sha256')!;
    const envelope = (response: string) => {
      const [head, body] = response.split('\r\n\r\n');
      expect(head).toMatch(/\r\ncontent-type: application\/json; charset=utf-8\r\n/);
      expect(head).toMatch(/\r\nconnection: close/);
      return JSON.parse(body!) as { error: { code: string; message: string; requestId: string } };
    };
    for (const base of [app.ingressUrl, app.managementUrl]) {
      const control = await exchange(base, `POST /api/v1/webhooks/${provider} HTTP/1.1\r\nhost: x\r\nx-bad: a\u0001b\r\ncontent-length: 2\r\n\r\n{}`);
      expect(control.split('\r\n', 1)[0], base).toBe('HTTP/1.1 400 Bad Request');
      expect(envelope(control)).toEqual({ error: { code: 'BAD_REQUEST', message: expect.stringMatching(/not valid HTTP/), requestId: expect.any(String) } });
      const huge = await exchange(base, `POST /api/v1/webhooks/${provider} HTTP/1.1\r\nhost: x\r\nx-junk: ${'\u00ff'.repeat(20_000)}\r\ncontent-length: 2\r\n\r\n{}`);
      expect(huge.split('\r\n', 1)[0], base).toBe('HTTP/1.1 431 Request Header Fields Too Large');
      expect(envelope(huge).error.code).toBe('HEADERS_TOO_LARGE');
      expect(huge).not.toContain('\u00ff\u00ff');
      // Two Node answers itself unless told: no Host on HTTP/1.1, and an Expect it cannot meet.
      const hostless = await exchange(base, `GET /api/v1/health HTTP/1.1\r\n\r\n`);
      expect(hostless.split('\r\n', 1)[0], base).toBe('HTTP/1.1 400 Bad Request');
      expect(envelope(hostless).error).toMatchObject({ code: 'BAD_REQUEST', message: 'an HTTP/1.1 request needs a Host header' });
      const expecting = await exchange(base, `POST /api/v1/webhooks/${provider} HTTP/1.1\r\nhost: x\r\nexpect: something-else\r\ncontent-length: 2\r\n\r\n{}`);
      expect(expecting.split('\r\n', 1)[0], base).toBe('HTTP/1.1 417 Expectation Failed');
      expect(envelope(expecting).error.code).toBe('EXPECTATION_FAILED');
    }
    // HTTP/1.0 has no Host requirement.
    expect((await exchange(app.ingressUrl, `GET /api/v1/health HTTP/1.0\r\n\r\n`)).split('\r\n', 1)[0]).toBe('HTTP/1.1 200 OK');
    // A keep-alive socket that already had its answer gets the envelope for the bad request after it.
    const health = `GET /api/v1/health HTTP/1.1\r\nhost: x\r\n\r\n`;
    const twice = await exchange(app.ingressUrl, health, `GET /api/v1/health HTTP/1.1\r\nhost: x\r\nx-bad: \u007f\r\n\r\n`);
    expect(twice.match(/HTTP\/1\.1 \d{3} /g)).toEqual(['HTTP/1.1 200 ', 'HTTP/1.1 400 ']);
    expect(twice).toContain('"code":"BAD_REQUEST"');
  });

  it('produces each message under integrationId:eventKey on the partition the Java client picks', async () => {
    const { id, provider, secret } = integrations.get('standard-webhooks')!;
    const sent = new Map<string, string>();
    for (let i = 0; i < 12; i++) {
      const msgId = `msg_partition_${i}_${crypto.randomUUID()}`;
      const body = JSON.stringify({ n: i });
      const response = await postWebhook(app.ingressUrl, provider, body, await signers.STANDARD_WEBHOOKS!(body, secret, { id: msgId }));
      expect(response.status).toBe(202);
      sent.set(`${id}:${msgId}`, response.body.eventId as string);
    }
    const kafka = new Kafka({ brokers: services.kafkaBrokers!.split(','), logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `inspect-${crypto.randomUUID()}` });
    const seen = new Map<string, { partition: number; message: KafkaMessage }>();
    await consumer.connect();
    await consumer.subscribe({ topic: app.config.kafka.topic, fromBeginning: true });
    const done = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          const key = message.key?.toString() ?? '';
          if (sent.has(key)) seen.set(key, { partition, message });
          if (seen.size === sent.size) resolve();
        },
      });
    });
    await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error('messages not all seen')), 20_000))]);
    await consumer.disconnect();
    const partitions = app.config.kafka.partitions;
    const used = new Set<number>();
    for (const [key, { partition, message }] of seen) {
      expect(partition).toBe(javaPartitionFor(key, partitions));
      const decoded = decodeIngressMessage(message.value, message.headers);
      expect(decoded.ok && decoded.record.eventId).toBe(sent.get(key));
      used.add(partition);
    }
    expect(used.size).toBeGreaterThan(1);
  });

  it('reports dependencies on the health endpoint', async () => {
    const response = await fetch(`${app.ingressUrl}/api/v1/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', mode: 'test', dependencies: { postgres: 'up', redis: 'up', kafka: 'up' } });
  });
});
