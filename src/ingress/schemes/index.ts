import { githubScheme } from './github.js';
import { hmacSha256Scheme } from './hmac-sha256.js';
import { sharedTokenScheme } from './shared-token.js';
import { shopifyScheme } from './shopify.js';
import { slackScheme } from './slack.js';
import { standardWebhooksScheme } from './standard-webhooks.js';
import { stripeScheme } from './stripe.js';
import type { SchemeName, VerificationScheme } from './types.js';

/** Each scheme is one module; adding one means one import and one line here. */
const SCHEMES: Partial<Record<SchemeName, VerificationScheme>> = {
  HMAC_SHA256: hmacSha256Scheme,
  SHARED_TOKEN: sharedTokenScheme,
  STRIPE: stripeScheme,
  GITHUB: githubScheme,
  SHOPIFY: shopifyScheme,
  SLACK: slackScheme,
  STANDARD_WEBHOOKS: standardWebhooksScheme,
};

export const SUPPORTED_SCHEMES = Object.keys(SCHEMES) as SchemeName[];

export function schemeFor(name: SchemeName): VerificationScheme | undefined {
  return SCHEMES[name];
}

export type { SchemeName, VerificationResult, VerificationScheme } from './types.js';
