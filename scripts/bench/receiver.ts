import { createServer } from 'node:http';

/**
 * The webhook receiver both sides of the delivery bench post to: reads the whole body and answers
 * 200 at once, verifying nothing, so that the receiver costs each side the same and as little as
 * possible. `GET /stats` says how many POSTs it has answered, so the bench can check every delivery
 * arrived. Usage: `node --import tsx scripts/bench/receiver.ts <port>` (listens on 127.0.0.1).
 */
const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write('usage: receiver.ts <port>\n');
  process.exit(1);
}

const ANSWER = Buffer.from('{"ok":true}');
const ANSWER_HEADERS = { 'content-type': 'application/json', 'content-length': ANSWER.length };
let posts = 0;
let bodyBytes = 0;

const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
  if (req.method !== 'POST') {
    const stats = JSON.stringify({ posts, bodyBytes });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(stats) });
    res.end(stats);
    return;
  }
  req.on('data', (chunk: Buffer) => {
    bodyBytes += chunk.length;
  });
  req.on('end', () => {
    posts += 1;
    res.writeHead(200, ANSWER_HEADERS);
    res.end(ANSWER);
  });
});

server.listen(port, '127.0.0.1');

// An orderly exit (code 0), so that a `--cpu-prof` run writes its profile.
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
