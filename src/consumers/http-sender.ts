import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { StringDecoder } from 'node:string_decoder';

export interface SendRequest {
  url: URL;
  /** The address the SSRF guard judged; the only one ever connected to. */
  address: string;
  family: 4 | 6;
  headers: Record<string, string>;
  body: Buffer;
  timeoutMs: number;
  maxResponseBytes: number;
  /** Aborts the request (a stopping worker past its grace period); the outcome is an ABORTED error. */
  signal?: AbortSignal;
}

export type SendResult =
  | { kind: 'response'; statusCode: number; headers: Record<string, string>; body: string; durationMs: number }
  | { kind: 'error'; errorClass: ErrorClass; message: string; durationMs: number };

type ErrorClass = 'TIMEOUT' | 'CONNECTION_REFUSED' | 'CONNECTION_RESET' | 'DNS' | 'TLS' | 'NETWORK' | 'ABORTED';
type Outcome = { result: DistributiveOmit<SendResult, 'durationMs'> };
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * Keep-alive pools, keyed by the pinned address (the connection target, see `attempt`), port and
 * Host: a socket opened for one checked address is never handed to a request pinned to another,
 * and one opened for one name is not reused for another name that happens to share the IP (https
 * already keys by servername). Idle sockets close after 4 s, below the 5 s that Node and many
 * servers keep them, so a reused socket is rarely one the receiver is closing. When it happens the
 * attempt fails as CONNECTION_RESET and is retried on the schedule like any other: the request may
 * have reached the receiver, so a silent resend would be a POST with no attempt on record.
 * Idle sockets are unref'd and never hold the process.
 */
class PinnedHttpAgent extends http.Agent {
  override getName(options?: http.ClientRequestArgs): string {
    const headers = (options?.headers ?? {}) as Record<string, unknown>;
    return `${super.getName(options)}:${String(headers.host)}`;
  }
}
// As many idle sockets as a worker has attempts in flight (Node's default bound): a lower bound
// closes and reopens connections between bursts, at full concurrency on every refill.
const POOL = { keepAlive: true, maxFreeSockets: 256, timeout: 4_000, scheduling: 'lifo' } as const;
const httpAgent = new PinnedHttpAgent(POOL);
const httpsAgent = new https.Agent(POOL);

/**
 * POSTs a delivery to the address the SSRF guard checked. Redirects are never followed (a 3xx is a
 * response like any other), one deadline covers everything from connecting to the last body byte,
 * and at most `maxResponseBytes` of the body is read. Never throws.
 */
export async function sendPinned(request: SendRequest): Promise<SendResult> {
  const started = performance.now();
  const deadline = started + request.timeoutMs;
  let result: Outcome['result'];
  try {
    // Exactly one request per call: every POST is one recorded attempt (no hidden resend).
    result = (await attempt(request, deadline)).result;
  } catch (error) {
    result = describeFailure(error, request.headers);
  }
  return { ...result, durationMs: Math.round(performance.now() - started) };
}

function attempt(request: SendRequest, deadline: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const { url } = request;
    const secure = url.protocol === 'https:';
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (!/^(host|content-length)$/i.test(name)) headers[name] = value;
    }
    headers.host = url.host;
    headers['content-length'] = String(request.body.length);

    let phase = 'connecting';
    let settled = false;
    let req: http.ClientRequest | undefined;
    const onAbort = () => finish({ kind: 'error', errorClass: 'ABORTED', message: `stopped ${phase}: the worker is shutting down` }, true);
    const finish = (result: Outcome['result'], destroy: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      if (destroy) req?.destroy();
      resolve({ result });
    };
    const fail = (error: unknown) => finish(describeFailure(error, request.headers), true);
    const timer = setTimeout(() => {
      const message = `no complete response within ${request.timeoutMs} ms (timed out ${phase})`;
      finish({ kind: 'error', errorClass: 'TIMEOUT', message }, true);
    }, Math.max(0, deadline - performance.now()));
    if (request.signal?.aborted) return onAbort();
    request.signal?.addEventListener('abort', onAbort, { once: true });

    try {
      // The socket target is the checked IP literal itself, so Node performs no lookup at all: the
      // name cannot be re-resolved to somewhere else (DNS rebinding). The name still travels in the
      // Host header and, for https, as SNI and the name the certificate is verified against.
      req = (secure ? https : http).request({
        method: 'POST',
        host: request.address,
        family: request.family,
        port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
        path: `${url.pathname}${url.search}`,
        headers,
        agent: secure ? httpsAgent : httpAgent,
        ...(secure && isIP(hostname) === 0 ? { servername: hostname } : {}),
      });
    } catch (error) {
      fail(error);
      return;
    }

    req.on('error', fail);
    req.on('socket', (socket) => {
      if (!socket.connecting) phase = 'sending the request';
      else socket.once(secure ? 'secureConnect' : 'connect', () => (phase = 'sending the request'));
    });
    req.on('finish', () => (phase = 'waiting for response headers'));
    req.on('response', (res) => {
      phase = 'reading the response body';
      const chunks: Buffer[] = [];
      let size = 0;
      const done = (cut: boolean) => {
        const decoder = new StringDecoder('utf8');
        // When cut, a character split by the cap is dropped rather than turned into U+FFFD.
        const body = decoder.write(Buffer.concat(chunks)) + (cut ? '' : decoder.end());
        finish({ kind: 'response', statusCode: res.statusCode ?? 0, headers: flattened(res.headers), body }, cut);
      };
      res.on('data', (chunk: Buffer) => {
        const room = request.maxResponseBytes - size;
        chunks.push(chunk.length < room ? chunk : chunk.subarray(0, room));
        size += Math.min(chunk.length, room);
        // Enough read: destroying the socket stops a receiver that streams forever from holding us.
        if (size >= request.maxResponseBytes) done(true);
      });
      res.on('end', () => done(false));
      res.on('error', fail);
    });
    req.end(request.body);
  });
}

function flattened(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

const TLS_CODE =
  /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|INVALID_CA$|INVALID_PURPOSE$|PATH_LENGTH_EXCEEDED$|HOSTNAME_MISMATCH$|EPROTO$)/;

function errorClassOf(code: string): ErrorClass {
  switch (code) {
    case 'ECONNREFUSED':
      return 'CONNECTION_REFUSED';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'CONNECTION_RESET';
    case 'ETIMEDOUT':
      return 'TIMEOUT';
    case 'ENOTFOUND':
      return 'DNS';
  }
  if (code.startsWith('EAI_')) return 'DNS';
  return TLS_CODE.test(code) ? 'TLS' : 'NETWORK';
}

/**
 * Node's socket and TLS messages do not quote request headers, but the few request-building
 * errors may quote a value; the signature headers must never reach an attempt record, so every
 * header value long enough to be a secret is masked whatever the message.
 */
function describeFailure(error: unknown, headers: Record<string, string>): Extract<Outcome['result'], { kind: 'error' }> {
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : '';
  let message = (error instanceof Error ? error.message : String(error)).trim();
  for (const value of Object.values(headers)) {
    if (value.length >= 8) message = message.replaceAll(value, '[redacted]');
  }
  if (code !== '' && !message.includes(code)) message = `${code}: ${message}`;
  return { kind: 'error', errorClass: errorClassOf(code), message };
}
