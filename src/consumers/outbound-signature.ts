import { createHmac, randomBytes } from 'node:crypto';

/**
 * Outbound signing in the Standard Webhooks format: the receiver verifies
 * `v1,base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}"))`, where the key is the
 * base64 part of a `whsec_` secret.
 */
export function generateDestinationSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function isDestinationSecret(secret: string): boolean {
  if (!secret.startsWith('whsec_')) return false;
  const key = secret.slice('whsec_'.length);
  return /^[A-Za-z0-9+/]+={0,2}$/.test(key) && Buffer.from(key, 'base64').length >= 24;
}

export function signStandardWebhook(secret: string, webhookId: string, timestampSeconds: number, body: Buffer): string {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const signature = createHmac('sha256', key).update(`${webhookId}.${timestampSeconds}.`).update(body).digest('base64');
  return `v1,${signature}`;
}
