import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { sendPinned, type SendRequest } from '../../src/consumers/http-sender.js';

// Every server here listens on 127.0.0.1 and every request is pinned to it: no traffic leaves
// the machine and no name is ever resolved (receiver.invalid could not be).
const servers: http.Server[] = [];

async function startServer(handler: http.RequestListener) {
  const server = http.createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  }
});

function request(url: string, overrides: Partial<SendRequest> = {}): SendRequest {
  return {
    url: new URL(url),
    address: '127.0.0.1',
    family: 4,
    headers: { 'content-type': 'application/json', 'webhook-signature': 'v1,c2VjcmV0LXNpZ25hdHVyZS12YWx1ZQ==' },
    body: Buffer.from('{"hello":"world"}'),
    timeoutMs: 2_000,
    maxResponseBytes: 4096,
    ...overrides,
  };
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

describe('http sender against local HTTP servers on 127.0.0.1', () => {
  it('posts the body and headers and returns the response', async () => {
    let seen: { method?: string; url?: string; headers?: http.IncomingHttpHeaders; body?: string } = {};
    const { port } = await startServer((req, res) => {
      readBody(req).then(
        (body) => {
          seen = { method: req.method, url: req.url, headers: req.headers, body };
          res.writeHead(200, { 'content-type': 'text/plain', 'x-receiver': 'ok' }).end('thanks');
        },
        (error: Error) => res.destroy(error),
      );
    });

    const result = await sendPinned(request(`http://receiver.invalid:${port}/hooks/in?tenant=7`));

    expect(result).toMatchObject({ kind: 'response', statusCode: 200, body: 'thanks' });
    expect(result.kind === 'response' && result.headers['x-receiver']).toBe('ok');
    expect(seen).toMatchObject({ method: 'POST', url: '/hooks/in?tenant=7', body: '{"hello":"world"}' });
    expect(seen.headers).toMatchObject({
      'content-type': 'application/json',
      'content-length': '17',
      'webhook-signature': 'v1,c2VjcmV0LXNpZ25hdHVyZS12YWx1ZQ==',
    });
  });

  it('connects to the pinned address and sends the URL host, even for a name that does not resolve', async () => {
    let host: string | undefined;
    const { port } = await startServer((req, res) => {
      host = req.headers.host;
      res.end();
    });

    const result = await sendPinned(request(`http://receiver.invalid:${port}/`, { headers: { Host: 'evil.example' } }));

    expect(result).toMatchObject({ kind: 'response', statusCode: 200 });
    expect(host).toBe(`receiver.invalid:${port}`);
  });

  it('caps the captured body at maxResponseBytes', async () => {
    const { port } = await startServer((_req, res) => {
      res.end('a'.repeat(10_000));
    });

    const result = await sendPinned(request(`http://127.0.0.1:${port}/`, { maxResponseBytes: 4096 }));

    expect(result.kind === 'response' && result.body).toBe('a'.repeat(4096));
  });

  it('cuts an endless response body at the cap and returns promptly', async () => {
    let receiverSawClose = false;
    const { port } = await startServer((_req, res) => {
      res.writeHead(200);
      const pump = setInterval(() => res.write('x'.repeat(1024)), 5);
      res.on('close', () => {
        clearInterval(pump);
        receiverSawClose = true;
      });
    });

    const started = performance.now();
    const result = await sendPinned(request(`http://127.0.0.1:${port}/`, { timeoutMs: 10_000, maxResponseBytes: 4096 }));

    expect(performance.now() - started).toBeLessThan(2_000);
    expect(result).toMatchObject({ kind: 'response', statusCode: 200 });
    expect(result.kind === 'response' && result.body.length).toBe(4096);
    await expect.poll(() => receiverSawClose).toBe(true);
  });

  it('returns a redirect as a response and never calls its target', async () => {
    let targetCalls = 0;
    const target = await startServer((_req, res) => {
      targetCalls++;
      res.end();
    });
    const { port } = await startServer((_req, res) => {
      res.writeHead(302, { location: `http://127.0.0.1:${target.port}/elsewhere` }).end();
    });

    const result = await sendPinned(request(`http://127.0.0.1:${port}/`));

    expect(result).toMatchObject({ kind: 'response', statusCode: 302 });
    expect(result.kind === 'response' && result.headers.location).toBe(`http://127.0.0.1:${target.port}/elsewhere`);
    expect(targetCalls).toBe(0);
  });

  it('gives up on a receiver that never answers within timeoutMs', async () => {
    const { port } = await startServer(() => {
      // Reads the request, never responds.
    });

    const started = performance.now();
    const result = await sendPinned(request(`http://127.0.0.1:${port}/`, { timeoutMs: 300 }));
    const elapsed = performance.now() - started;

    expect(result).toMatchObject({ kind: 'error', errorClass: 'TIMEOUT' });
    expect(result.kind === 'error' && result.message).toMatch(/waiting for response headers/);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(800);
    expect(result.durationMs).toBeLessThan(800);
  });

  it('counts a body that stalls after the headers against the same deadline', async () => {
    const { port } = await startServer((_req, res) => {
      res.writeHead(200).write('partial');
    });

    const started = performance.now();
    const result = await sendPinned(request(`http://127.0.0.1:${port}/`, { timeoutMs: 300 }));

    expect(result).toMatchObject({ kind: 'error', errorClass: 'TIMEOUT' });
    expect(result.kind === 'error' && result.message).toMatch(/reading the response body/);
    expect(performance.now() - started).toBeLessThan(800);
  });

  it('reports a refused connection without quoting request headers', async () => {
    const { server, port } = await startServer(() => undefined);
    servers.splice(servers.indexOf(server), 1);
    server.close();
    await once(server, 'close');

    const result = await sendPinned(request(`http://receiver.invalid:${port}/`));

    expect(result).toMatchObject({ kind: 'error', errorClass: 'CONNECTION_REFUSED' });
    expect(JSON.stringify(result)).not.toContain('c2VjcmV0LXNpZ25hdHVyZS12YWx1ZQ');
  });

  it('classifies a receiver that resets the connection', async () => {
    const { port } = await startServer((req) => {
      (req.socket as Socket).resetAndDestroy();
    });

    const result = await sendPinned(request(`http://127.0.0.1:${port}/`));

    expect(result).toMatchObject({ kind: 'error', errorClass: 'CONNECTION_RESET' });
  });

  it('classifies a failed TLS handshake as TLS', async () => {
    const { port } = await startServer((_req, res) => res.end());

    const result = await sendPinned(request(`https://receiver.invalid:${port}/`));

    expect(result).toMatchObject({ kind: 'error', errorClass: 'TLS' });
  });

  it('reuses a kept-alive connection for the same address and host, and not for another host', async () => {
    const connections = new Set<Socket>();
    const { port } = await startServer((req, res) => {
      connections.add(req.socket);
      res.end('ok');
    });

    await sendPinned(request(`http://a.invalid:${port}/`));
    await sendPinned(request(`http://a.invalid:${port}/`));
    expect(connections.size).toBe(1);

    await sendPinned(request(`http://b.invalid:${port}/`));
    expect(connections.size).toBe(2);
  });

  it('a reused connection the receiver resets is one failed attempt, never a silent resend', async () => {
    const requestsPerConnection = new Map<Socket, number>();
    let seen = 0;
    const { port } = await startServer((req, res) => {
      seen++;
      const count = (requestsPerConnection.get(req.socket) ?? 0) + 1;
      requestsPerConnection.set(req.socket, count);
      // The second request on a connection meets the reset an idle-closed socket would give.
      if (count > 1) return (req.socket as Socket).resetAndDestroy();
      res.end('ok');
    });

    expect(await sendPinned(request(`http://127.0.0.1:${port}/`))).toMatchObject({ kind: 'response', statusCode: 200 });
    expect(await sendPinned(request(`http://127.0.0.1:${port}/`))).toMatchObject({ kind: 'error', errorClass: 'CONNECTION_RESET' });
    // One request per call: the reset request reached the receiver and was not sent again.
    expect(seen).toBe(2);
    expect(await sendPinned(request(`http://127.0.0.1:${port}/`))).toMatchObject({ kind: 'response', statusCode: 200 });
    expect(seen).toBe(3);
    expect(requestsPerConnection.size).toBe(2);
  });

  it('an aborted request ends as ABORTED at once', async () => {
    const { port } = await startServer(() => {
      // never answers
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const result = await sendPinned(request(`http://127.0.0.1:${port}/`, { timeoutMs: 5_000, signal: controller.signal }));
    expect(result).toMatchObject({ kind: 'error', errorClass: 'ABORTED' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
