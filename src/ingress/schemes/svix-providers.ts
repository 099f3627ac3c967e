import { standardWebhooksScheme } from './standard-webhooks.js';
import type { VerificationScheme } from './types.js';

/**
 * Providers that send through Svix: `svix-id`, `svix-timestamp`, `svix-signature`, the Standard
 * Webhooks construction (base64 HMAC-SHA256 of `${id}.${timestamp}.${rawBody}` keyed with the
 * base64 after `whsec_`). The signed id is the event key; the type is the body's `type`.
 */
function svixProvider(name: string): VerificationScheme {
  return {
    ...standardWebhooksScheme,
    name,
    defaultEventTypePath: '$.type',
    sign: (body, options) => {
      const signed = standardWebhooksScheme.sign(body, options);
      const headers: Record<string, string> = {};
      for (const [header, value] of Object.entries(signed.headers)) headers[header.replace(/^webhook-/, 'svix-')] = value;
      return { ...signed, headers };
    },
  };
}

/** Clerk ("Verify webhooks", Svix). */
export const clerkScheme = svixProvider('CLERK');
/** Resend ("Verify Webhooks Requests", Svix). */
export const resendScheme = svixProvider('RESEND');
