import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { requestIdFrom } from './ids.js';
import type { BodyReadResult } from './ingress/handle-webhook.js';
import { errorEnvelope, statusFor, type ErrorCode } from './ingress/errors.js';

/** Small helpers shared by both listeners. */

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendError(
  res: ServerResponse,
  status: number,
  code: ErrorCode,
  message: string,
  requestId: string,
  headers: Record<string, string> = {},
): void {
  sendJson(res, status, errorEnvelope(code, message, requestId), { 'x-request-id': requestId, ...headers });
}

/**
 * The request's headers with one value each. Node already joins repeated headers with ", " except
 * `set-cookie` (an array), so the object is used as it is unless that one is present: no copy on
 * the hot path.
 */
export function flatHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const headers = req.headers;
  if (headers['set-cookie'] === undefined) return headers as Record<string, string | undefined>;
  const flat: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(headers)) flat[name] = Array.isArray(value) ? value[0] : value;
  return flat;
}

/** What Node's parser refused, answered in the error envelope; see `answerClientError`. */
function clientErrorAnswer(code: string | undefined): { code: ErrorCode; message: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { code: 'HEADERS_TOO_LARGE', message: 'the request headers exceed the size the server reads' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { code: 'PAYLOAD_TOO_LARGE', message: 'the chunk extensions exceed the size the server reads' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { code: 'REQUEST_TIMEOUT', message: 'the request was not received in time' };
    default:
      return { code: 'BAD_REQUEST', message: 'the request is not valid HTTP/1.1 (a header name or value with a forbidden character, or a malformed request line or framing)' };
  }
}

/**
 * A listener's `clientError` handler: a request Node's HTTP parser refused (bad bytes in a header,
 * headers over the size limit, a request not received in time) gets the same error envelope as
 * every other error, then the connection closes. Like Node's own answer, it is written only when
 * no response on this socket has begun, so the peer never reads a mangled stream; otherwise, or on
 * a reset, the socket is just destroyed. The parser's message can quote the request: not sent.
 *
 * After a parse error the parser refuses everything that follows, so the socket may stay half
 * open while the peer reads the answer. After a timeout it would go on parsing: a request that
 * was answered 408 must not be taken anyway when its last bytes come, so that socket is destroyed
 * as soon as the answer is written, as Node does.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const answer = clientErrorAnswer(error.code);
  const status = statusFor(answer.code);
  const requestId = requestIdFrom(undefined);
  const body = JSON.stringify(errorEnvelope(answer.code, answer.message, requestId));
  const response =
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
    'content-type: application/json; charset=utf-8\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    'cache-control: no-store\r\n' +
    `x-request-id: ${requestId}\r\n` +
    'connection: close\r\n\r\n' +
    body;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    socket.write(response);
    socket.destroy();
    return;
  }
  socket.end(response);
  // A peer that never reads must not hold the socket open.
  setTimeout(() => socket.destroy(), 5_000).unref();
}

/**
 * The HTTP server of every listener (ingress, management, metrics). Each protocol error Node would
 * answer itself with an empty body is answered in the error envelope instead: what its parser
 * refuses (`answerClientError`), an HTTP/1.1 request without `Host` (RFC 9112 §3.2: 400), and an
 * `Expect` other than `100-continue` (417). `handle` sees only the requests left.
 */
export function createListener(options: ServerOptions, handle: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const server = createServer({ ...options, requireHostHeader: false }, (req, res) => {
    if (req.headers.host === undefined && req.httpVersion === '1.1') {
      sendError(res, 400, 'BAD_REQUEST', 'an HTTP/1.1 request needs a Host header', requestIdFrom(req.headers['x-request-id']), { connection: 'close' });
      return;
    }
    handle(req, res);
  });
  server.on('clientError', answerClientError);
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    sendError(res, 417, 'EXPECTATION_FAILED', 'the only expectation supported is 100-continue', requestIdFrom(req.headers['x-request-id']), { connection: 'close' });
  });
  return server;
}

export type HealthState = 'up' | 'down';
export interface HealthReport {
  status: 'ok' | 'degraded';
  dependencies: Record<string, HealthState>;
}

/** Runs every dependency check at once, each bounded so that a hung dependency reads as down. */
export async function checkHealth(checks: Record<string, () => Promise<unknown>>, timeoutMs = 1500): Promise<HealthReport> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]): Promise<[string, HealthState]> => {
      let timer: NodeJS.Timeout | undefined;
      try {
        const result = await Promise.race([
          check(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
          }),
        ]);
        return [name, result === false ? 'down' : 'up'];
      } catch {
        return [name, 'down'];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const dependencies = Object.fromEntries(entries);
  return { status: entries.every(([, state]) => state === 'up') ? 'ok' : 'degraded', dependencies };
}

/**
 * Reads at most `maxBytes`, counting the bytes actually received (a chunked body has no
 * Content-Length to trust); past that it stops keeping them and pauses the request.
 */
export function readBodyCapped(req: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<BodyReadResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: BodyReadResult) => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onError);
      if (!result.ok) req.pause();
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) finish({ ok: false, reason: 'TOO_LARGE' });
      else chunks.push(chunk);
    };
    const onEnd = () => finish({ ok: true, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) });
    const onError = () => finish({ ok: false, reason: 'ABORTED' });
    const timer = setTimeout(() => finish({ ok: false, reason: 'TIMEOUT' }), timeoutMs);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onError);
  });
}

export interface DrainLimits {
  /** Bytes read and thrown away at most, after the rejection. */
  maxBytes: number;
  /** Time spent reading them at most. */
  timeoutMs: number;
}

export const DEFAULT_DRAIN: DrainLimits = { maxBytes: 8 * 1024 * 1024, timeoutMs: 5_000 };

/**
 * Reads and discards what is left of a request, within bounds. Answering and closing while the
 * client is still writing resets the connection, and most clients then report EPIPE instead of
 * the answer (issue 12): discarding the rest first lets them read it. Resolves when the request
 * ended (true) or a bound was reached (false).
 */
export function discardRest(req: IncomingMessage, limits: DrainLimits = DEFAULT_DRAIN): Promise<boolean> {
  if (req.complete || req.destroyed) return Promise.resolve(req.complete);
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limits.maxBytes) return Promise.resolve(false);
  return new Promise((resolve) => {
    let discarded = 0;
    const finish = (ended: boolean) => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onFail);
      req.off('aborted', onFail);
      if (!ended) req.pause();
      resolve(ended);
    };
    const onData = (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > limits.maxBytes) finish(false);
    };
    const onEnd = () => finish(true);
    const onFail = () => finish(false);
    const timer = setTimeout(() => finish(false), limits.timeoutMs);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onFail);
    req.on('aborted', onFail);
    req.resume();
  });
}

/**
 * An error answer for a request whose body was not read to its end. The whole answer is written
 * at once (a client reading while it writes sees it at once), but the response is ended — and
 * the connection closed — only after the rest of the body was discarded within bounds: a client
 * that writes everything before reading finds the answer waiting instead of a reset.
 */
export async function sendErrorAndClose(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  code: ErrorCode,
  message: string,
  requestId: string,
  headers: Record<string, string> = {},
  limits: DrainLimits = DEFAULT_DRAIN,
): Promise<void> {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(errorEnvelope(code, message, requestId));
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-request-id': requestId,
    ...headers,
    connection: 'close',
  });
  res.write(text);
  await discardRest(req, limits);
  res.end();
}

/** Listens; resolves with the URL it listens at, rejects when the port cannot be had. */
export function listen(server: Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      resolve(`http://${shownHost}:${address.port}`);
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    // Stop accepting; in-flight requests finish; idle keep-alive sockets close now, and so does
    // each socket whose request finishes later (it would otherwise idle for the keep-alive timeout).
    const sweep = setInterval(() => server.closeIdleConnections(), 100);
    server.close(() => {
      clearInterval(sweep);
      resolve();
    });
    server.closeIdleConnections();
  });
}
