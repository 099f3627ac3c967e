import { createHmac } from 'node:crypto';
import { sign as signGithub } from '@octokit/webhooks-methods';
import { Partitioners } from 'kafkajs';
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

// kafkajs's own DefaultPartitioner, as the test oracle: an implementation independent of
// Hookgate's (which the producer uses), that Kafka's Java test values pin (partitioner.test.ts).
const kafkajsPartitioner = Partitioners.DefaultPartitioner();

/** The partition Kafka's Java client (and kafkajs's default) picks for a key. */
export function javaPartitionFor(key: string, partitions: number): number {
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 1, partitionErrorCode: 0, replicas: [1], isr: [1] }));
  return kafkajsPartitioner({ topic: 'oracle', partitionMetadata, message: { key, value: null } });
}
