import { createServer } from 'node:http';

/**
 * The baseline the ingress is measured against: a bare node:http server that does the least any
 * webhook receiver must do — read the whole body, answer 202 with a small JSON body — and nothing
 * else. Usage: `node --import tsx scripts/bench/bare-server.ts <port>` (listens on 127.0.0.1).
 */
const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write('usage: bare-server.ts <port>\n');
  process.exit(1);
}

// The ingress' answer, in shape and size, so both sides move about the same bytes.
const ANSWER = JSON.stringify({ eventId: '00000000-0000-5000-8000-000000000000', status: 'accepted' });
const ANSWER_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'content-length': Buffer.byteLength(ANSWER),
  'cache-control': 'no-store',
};

const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    // Touch the bytes as a receiver would; the content is not looked at.
    Buffer.concat(chunks);
    res.writeHead(202, ANSWER_HEADERS);
    res.end(ANSWER);
  });
});

server.listen(port, '127.0.0.1');

// An orderly exit (code 0) is what makes `--cpu-prof` write its profile.
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
