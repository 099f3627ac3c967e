import type { IncomingMessage, ServerResponse } from 'node:http';
import { like } from 'drizzle-orm';
import { signStandardWebhook } from '../consumers/outbound-signature.js';
import { constantTimeEqual } from '../ingress/schemes/constant-time.js';
import type { Database } from '../db/client.js';
import { destinations } from '../db/schema.js';
import { sendError, sendJson } from '../http.js';
import { readBodyCapped } from '../ingress/server.js';

/**
 * `POST /api/v1/internal/delivery-sink/:provider` (never in production): a destination built into
 * Hookgate, so a first run can watch a webhook go all the way round. It checks the Standard
 * Webhooks signature against the secrets of the destinations that point at it, and keeps the
 * last 100 deliveries in memory for `GET` (which needs the management key).
 */
export const SINK_PATH = /^\/api\/v1\/internal\/delivery-sink\/([A-Za-z0-9_-]{1,64})\/?$/;
const TOLERANCE_SECONDS = 300;

interface SinkEntry {
  receivedAt: string;
  provider: string;
  webhookId: string | null;
  verified: boolean;
  headers: Record<string, string>;
  body: unknown;
}

export function createDeliverySink(db: Database) {
  const received: SinkEntry[] = [];

  async function verify(provider: string, headers: IncomingMessage['headers'], body: Buffer): Promise<boolean> {
    const id = headers['webhook-id'];
    const timestamp = Number(headers['webhook-timestamp']);
    const signatures = String(headers['webhook-signature'] ?? '').split(' ').filter(Boolean);
    if (typeof id !== 'string' || !Number.isInteger(timestamp) || signatures.length === 0) return false;
    if (Math.abs(Date.now() / 1000 - timestamp) > TOLERANCE_SECONDS) return false;
    const targets = await db
      .select({ secret: destinations.secret })
      .from(destinations)
      .where(like(destinations.url, `%/api/v1/internal/delivery-sink/${provider}`));
    return targets.some(({ secret }) => {
      const expected = Buffer.from(signStandardWebhook(secret, id, timestamp, body));
      return signatures.some((signature) => constantTimeEqual(Buffer.from(signature), expected));
    });
  }

  return {
    async receive(req: IncomingMessage, res: ServerResponse, provider: string, requestId: string): Promise<void> {
      const read = await readBodyCapped(req, 1024 * 1024, 10_000);
      if (!read.ok) return sendError(res, 413, 'PAYLOAD_TOO_LARGE', 'the sink keeps bodies up to 1 MiB', requestId, { connection: 'close' });
      const verified = await verify(provider, req.headers, read.body);
      let body: unknown;
      try {
        body = JSON.parse(read.body.toString('utf8'));
      } catch {
        body = read.body.toString('utf8');
      }
      const { 'webhook-signature': _signature, ...kept } = req.headers;
      received.unshift({
        receivedAt: new Date().toISOString(),
        provider,
        webhookId: typeof req.headers['webhook-id'] === 'string' ? req.headers['webhook-id'] : null,
        verified,
        headers: Object.fromEntries(Object.entries(kept).map(([name, value]) => [name, String(value)])),
        body,
      });
      received.length = Math.min(received.length, 100);
      sendJson(res, verified ? 200 : 401, { received: true, verified });
    },
    list(res: ServerResponse, provider: string): void {
      sendJson(res, 200, { deliveries: received.filter((entry) => entry.provider === provider) });
    },
  };
}
