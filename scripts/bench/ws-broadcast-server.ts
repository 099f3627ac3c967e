// Baseline for the subscription fan-out bench: the least a broadcaster can do. It subscribes to
// the same Redis channel Hookgate's API listens on and writes each message, unchanged, to every
// connected WebSocket. Run as a child process: `node --import tsx ws-broadcast-server.ts`.
import { Redis } from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';

const port = Number(process.argv[2]);
const redisUrl = process.argv[3]!;
const channel = process.argv[4]!;

const clients = new Set<WebSocket>();
const server = new WebSocketServer({ port, host: '127.0.0.1' });
server.on('connection', (socket) => {
  clients.add(socket);
  socket.on('close', () => clients.delete(socket));
});

const subscriber = new Redis(redisUrl);
await subscriber.subscribe(channel);
subscriber.on('message', (_channel: string, message: string) => {
  for (const socket of clients) socket.send(message);
});
process.stdout.write('ready\n');

process.on('SIGTERM', () => {
  server.close();
  void subscriber.quit().finally(() => process.exit(0));
});
