import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode } from './ingress/errors.js';
import { errorEnvelope } from './ingress/errors.js';

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

/** Lower-cased header names with their first value, as the verification schemes expect them. */
export function flatHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    headers[name] = Array.isArray(value) ? value[0] : value;
  }
  return headers;
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
