import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedRequest {
  at: number;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** The body's exact bytes (`body` is their UTF-8 reading). */
  rawBody: Buffer;
}

export type Responder = (request: ReceivedRequest, res: ServerResponse, index: number) => void;

/** A local downstream service: records every request and answers as the test says. */
export async function startReceiver(respond: Responder = (_req, res) => res.writeHead(200).end('ok')) {
  const received: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  let responder = respond;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([name, value]) => [name, String(value)]));
      const rawBody = Buffer.concat(chunks);
      const request = { at: Date.now(), path: req.url ?? '/', headers, body: rawBody.toString('utf8'), rawBody };
      received.push(request);
      responder(request, res, received.length - 1);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    respondWith(next: Responder) {
      responder = next;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
