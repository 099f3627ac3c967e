import { createHmac } from 'node:crypto';
import { sign as signGithub } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';

/**
 * Signs a body the way each provider does, with the providers' own SDKs where they exist,
 * so integration tests send exactly what real providers send.
 */
const stripe = new Stripe('sk_test_hookgate');

export type ProviderSigner = (body: string, secret: string, options?: { timestamp?: number; id?: string }) => Promise<Record<string, string>>;

const unixNow = () => Math.floor(Date.now() / 1000);

export const signers: Record<string, ProviderSigner> = {
  HMAC_SHA256: async (body, secret) => ({ 'x-acme-signature': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` }),
  SHARED_TOKEN: async (_body, secret) => ({ 'x-globex-token': secret }),
  STRIPE: async (body, secret, options) => ({
    'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: options?.timestamp ?? unixNow() }),
  }),
  GITHUB: async (body, secret, options) => ({
    'x-hub-signature-256': await signGithub(secret, body),
    'x-github-delivery': options?.id ?? crypto.randomUUID(),
    'x-github-event': 'push',
  }),
  SHOPIFY: async (body, secret, options) => ({
    'x-shopify-hmac-sha256': createHmac('sha256', secret).update(body).digest('base64'),
    'x-shopify-webhook-id': options?.id ?? crypto.randomUUID(),
    'x-shopify-topic': 'orders/create',
  }),
  SLACK: async (body, secret, options) => {
    const timestamp = String(options?.timestamp ?? unixNow());
    return {
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`,
    };
  },
  STANDARD_WEBHOOKS: async (body, secret, options) => {
    const id = options?.id ?? `msg_${crypto.randomUUID()}`;
    const timestamp = new Date((options?.timestamp ?? unixNow()) * 1000);
    return {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, timestamp, body),
    };
  },
};

/** A secret of the right shape for each scheme. */
export function secretFor(scheme: string): string {
  if (scheme === 'STANDARD_WEBHOOKS') return `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('base64')}`;
  if (scheme === 'STRIPE') return `whsec_${crypto.randomUUID().replaceAll('-', '')}`;
  return `secret-${crypto.randomUUID()}`;
}

/** Kafka's Java client partitioner: murmur2 of the key bytes, made positive, modulo the partitions. */
export function murmur2(data: Buffer): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = (0x9747b28c ^ length) | 0;
  const blocks = length >>> 2;
  for (let i = 0; i < blocks; i++) {
    const at = i * 4;
    let k = data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

export function javaPartitionFor(key: string, partitions: number): number {
  return (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions;
}
