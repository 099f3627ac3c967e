import { randomUUID } from 'node:crypto';
import type { ClaimedDelivery } from './delivery-store.js';
import { signStandardWebhook } from './outbound-signature.js';

/**
 * The headers of one delivery POST. `visible` is what an attempt records: never a signature, never
 * a static header (write-only, like secrets), never a provider secret or the management key.
 * During a secret rotation the signature header carries both signatures, new first
 * (`v1,<new> v1,<old>`, space-separated as the Standard Webhooks spec allows), so a receiver
 * holding either secret verifies.
 */
export function outboundHeaders(
  delivery: Pick<ClaimedDelivery, 'id' | 'eventId' | 'rawBody' | 'secret' | 'previousSecret' | 'staticHeaders'>,
  timestamp: number,
): { visible: Record<string, string>; all: Record<string, string> } {
  const visible: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'Hookgate/0.1 (+webhook delivery)',
    'webhook-id': delivery.eventId,
    'webhook-timestamp': String(timestamp),
    'x-hookgate-event-id': delivery.eventId,
    'x-hookgate-delivery-id': delivery.id,
    'x-request-id': randomUUID(),
  };
  const signatures = [delivery.secret, ...(delivery.previousSecret ? [delivery.previousSecret] : [])].map((secret) =>
    signStandardWebhook(secret, delivery.eventId, timestamp, delivery.rawBody),
  );
  // Static headers go first so that ours win over any name that slipped past validation.
  const statics = Object.fromEntries(delivery.staticHeaders.map((header) => [header.name.toLowerCase(), header.value]));
  return { visible, all: { ...statics, ...visible, 'webhook-signature': signatures.join(' ') } };
}
