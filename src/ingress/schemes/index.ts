import { bitbucketScheme } from './bitbucket.js';
import { calendlyScheme } from './calendly.js';
import { coinbaseCommerceScheme } from './coinbase-commerce.js';
import { discordScheme } from './discord.js';
import { githubScheme } from './github.js';
import { gitlabScheme } from './gitlab.js';
import { hmacSha256Scheme } from './hmac-sha256.js';
import { hubspotScheme } from './hubspot.js';
import { intercomScheme } from './intercom.js';
import { lemonSqueezyScheme } from './lemon-squeezy.js';
import { linearScheme } from './linear.js';
import { lineScheme } from './line.js';
import { mailgunScheme } from './mailgun.js';
import { microsoftGraphScheme } from './microsoft-graph.js';
import { microsoftTeamsScheme } from './microsoft-teams.js';
import { muxScheme } from './mux.js';
import { oktaScheme } from './okta.js';
import { paddleScheme } from './paddle.js';
import { pagerdutyScheme } from './pagerduty.js';
import { postmarkScheme } from './postmark.js';
import { razorpayScheme } from './razorpay.js';
import { segmentScheme } from './segment.js';
import { sendgridScheme } from './sendgrid.js';
import { sentryScheme } from './sentry.js';
import { sharedTokenScheme } from './shared-token.js';
import { shopifyScheme } from './shopify.js';
import { slackScheme } from './slack.js';
import { squareScheme } from './square.js';
import { standardWebhooksScheme } from './standard-webhooks.js';
import { stripeScheme } from './stripe.js';
import { clerkScheme, resendScheme } from './svix-providers.js';
import { twilioScheme } from './twilio.js';
import { typeformScheme } from './typeform.js';
import { vercelScheme } from './vercel.js';
import { zendeskScheme } from './zendesk.js';
import { zoomScheme } from './zoom.js';
import type { VerificationScheme } from './types.js';

/**
 * Every scheme and provider preset. Each is one module; adding one means one import and one line
 * here: the database stores the name as text, and GraphQL's enum and the README table are read
 * from this object.
 */
const SCHEMES = {
  HMAC_SHA256: hmacSha256Scheme,
  SHARED_TOKEN: sharedTokenScheme,
  STRIPE: stripeScheme,
  GITHUB: githubScheme,
  SHOPIFY: shopifyScheme,
  SLACK: slackScheme,
  STANDARD_WEBHOOKS: standardWebhooksScheme,
  TWILIO: twilioScheme,
  SENDGRID: sendgridScheme,
  DISCORD: discordScheme,
  MAILGUN: mailgunScheme,
  SQUARE: squareScheme,
  PADDLE: paddleScheme,
  LINEAR: linearScheme,
  INTERCOM: intercomScheme,
  HUBSPOT: hubspotScheme,
  ZOOM: zoomScheme,
  MICROSOFT_GRAPH: microsoftGraphScheme,
  MICROSOFT_TEAMS: microsoftTeamsScheme,
  TYPEFORM: typeformScheme,
  CALENDLY: calendlyScheme,
  CLERK: clerkScheme,
  RESEND: resendScheme,
  LEMON_SQUEEZY: lemonSqueezyScheme,
  MUX: muxScheme,
  PAGERDUTY: pagerdutyScheme,
  SENTRY: sentryScheme,
  VERCEL: vercelScheme,
  BITBUCKET: bitbucketScheme,
  GITLAB: gitlabScheme,
  POSTMARK: postmarkScheme,
  COINBASE_COMMERCE: coinbaseCommerceScheme,
  RAZORPAY: razorpayScheme,
  SEGMENT: segmentScheme,
  ZENDESK: zendeskScheme,
  LINE: lineScheme,
  OKTA: oktaScheme,
} satisfies Record<string, VerificationScheme>;

export type SchemeName = keyof typeof SCHEMES;

export const SUPPORTED_SCHEMES = Object.keys(SCHEMES) as [SchemeName, ...SchemeName[]];

export function isSchemeName(name: string): name is SchemeName {
  return Object.hasOwn(SCHEMES, name);
}

export function schemeFor(name: string): VerificationScheme | undefined {
  return isSchemeName(name) ? SCHEMES[name] : undefined;
}

export type { VerificationResult, VerificationScheme } from './types.js';
