import { createHmac } from 'node:crypto';
import type { SchemeName } from '../ingress/schemes/types.js';

/**
 * Signs a body the way each provider would, so `hookgate send` can exercise any integration.
 * Mirrors the verification schemes in src/ingress/schemes.
 */
export function signAs(
  scheme: SchemeName,
  secret: string,
  body: Buffer,
  options: { header?: string | null; id: string; now?: Date },
): Record<string, string> {
  const timestamp = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const hmac = (key: string | Buffer, ...parts: (string | Buffer)[]) => {
    const mac = createHmac('sha256', key);
    for (const part of parts) mac.update(part);
    return mac.digest();
  };
  switch (scheme) {
    case 'HMAC_SHA256':
      return { [options.header ?? 'x-acme-signature']: `sha256=${hmac(secret, body).toString('hex')}` };
    case 'SHARED_TOKEN':
      return { [options.header ?? 'x-globex-token']: secret };
    case 'STRIPE':
      return { 'stripe-signature': `t=${timestamp},v1=${hmac(secret, `${timestamp}.`, body).toString('hex')}` };
    case 'GITHUB':
      return {
        'x-hub-signature-256': `sha256=${hmac(secret, body).toString('hex')}`,
        'x-github-delivery': options.id,
        'x-github-event': 'ping',
      };
    case 'SHOPIFY':
      return {
        'x-shopify-hmac-sha256': hmac(secret, body).toString('base64'),
        'x-shopify-webhook-id': options.id,
        'x-shopify-topic': 'hookgate/test',
      };
    case 'SLACK':
      return {
        'x-slack-request-timestamp': String(timestamp),
        'x-slack-signature': `v0=${hmac(secret, `v0:${timestamp}:`, body).toString('hex')}`,
      };
    case 'STANDARD_WEBHOOKS': {
      const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'base64');
      return {
        'webhook-id': options.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': `v1,${hmac(key, `${options.id}.${timestamp}.`, body).toString('base64')}`,
      };
    }
  }
}
