import { createPrivateKey, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { sign as octokitSign, verify as octokitVerify } from '@octokit/webhooks-methods';
import { validateSignature as lineValidate } from '@line/bot-sdk';
import Mux from '@mux/mux-node';
import { Paddle } from '@paddle/paddle-node-sdk';
import { EventWebhook } from '@sendgrid/eventwebhook';
import { verifyKey } from 'discord-interactions';
import Razorpay from 'razorpay';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { Webhook as SvixWebhook } from 'svix';
import twilio from 'twilio';
import { TEST_KEY_PAIRS } from '../../src/cli/test-keys.js';
import { parseFormBody } from '../../src/ingress/form-body.js';
import { hmac, seconds, type PresetCase } from './preset-harness.js';

/** Presets whose provider ships an npm library: it makes the request, or judges Hookgate's sample. */

const AT = new Date('2026-12-03T12:00:00Z');
const otherEd25519 = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('hex');
const stripe = new Stripe('sk_test_unused');
// The SDK picks its crypto runtime when a client is made; no request is ever sent.
const paddle = new Paddle('pdl_sdbx_apikey_unused');

// Published by SendGrid with its library (sendgrid-nodejs, packages/eventwebhook/src/eventwebhook.spec.js).
const SENDGRID_VECTOR = {
  publicKey: 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==',
  otherKey: 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEQ4LIFtWztlsF7skFqOncjD1lun4H5w8XOhyOArHW9RcIx/FfEzx6cikC/yPfUvwaX/JScE7Fc9CJD2afQ9Ok3Q==',
  signature: 'MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=',
  timestamp: '1600112502',
  body:
    JSON.stringify([
      {
        email: 'hello@world.com',
        event: 'dropped',
        reason: 'Bounced Address',
        sg_event_id: 'ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA',
        sg_message_id: 'LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0',
        'smtp-id': '<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>',
        timestamp: 1600112492,
      },
    ]) + '\r\n',
};

const svixCase = (scheme: 'CLERK' | 'RESEND', provider: string): PresetCase => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const body = '{"type":"user.created","data":{"id":"user_29w83sxmDNGwOuEthce5gg56FcC"}}';
  return {
    scheme,
    source: `svix Webhook#sign (${provider} delivers through Svix)`,
    secret,
    wrongSecret: 'whsec_plJ3nmyCDGBKInavdOK15jsl',
    body,
    providerRequest: () => {
      const now = new Date();
      const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
      const signature = new SvixWebhook(secret).sign(id, now, body);
      return { headers: { 'svix-id': id, 'svix-timestamp': seconds(now), 'svix-signature': signature }, body, now };
    },
    sdkAccepts: (sample, key) => Boolean(new SvixWebhook(key).verify(sample.body, sample.headers)),
    signatureHeaders: ['svix-id', 'svix-timestamp', 'svix-signature'],
    timestamped: true,
    expected: { eventKey: 'msg_p5jXN8AQM9LWM0D4loKWxJek' },
  };
};

export const SDK_CASES: PresetCase[] = [
  {
    scheme: 'STRIPE',
    source: 'stripe webhooks.generateTestHeaderString',
    secret: 'whsec_test_secret_0123456789',
    wrongSecret: 'whsec_other_secret_012345678',
    body: '{"id":"evt_1","type":"charge.succeeded"}',
    providerRequest: () => ({
      headers: { 'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload: '{"id":"evt_1","type":"charge.succeeded"}', secret: 'whsec_test_secret_0123456789', timestamp: Number(seconds(AT)) }) },
      body: '{"id":"evt_1","type":"charge.succeeded"}',
      now: AT,
    }),
    sdkAccepts: (sample, key) => stripe.webhooks.constructEvent(sample.body, sample.headers['stripe-signature']!, key).id === 'evt_1',
    signatureHeaders: ['stripe-signature'],
    timestamped: true,
  },
  {
    scheme: 'GITHUB',
    source: '@octokit/webhooks-methods sign',
    secret: "It's a Secret to Everybody",
    wrongSecret: 'another secret 0123456789',
    body: '{"zen":"Keep it logically awesome."}',
    providerRequest: async () => ({
      headers: { 'x-hub-signature-256': await octokitSign("It's a Secret to Everybody", '{"zen":"Keep it logically awesome."}'), 'x-github-delivery': 'd-1', 'x-github-event': 'ping' },
      body: '{"zen":"Keep it logically awesome."}',
      now: AT,
    }),
    sdkAccepts: (sample, key) => octokitVerify(key, sample.body, sample.headers['x-hub-signature-256']!),
    signatureHeaders: ['x-hub-signature-256'],
    expected: { eventKey: 'd-1', eventType: 'ping' },
  },
  {
    scheme: 'STANDARD_WEBHOOKS',
    source: 'standardwebhooks Webhook#sign',
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    wrongSecret: 'whsec_plJ3nmyCDGBKInavdOK15jsl',
    body: '{"test":2432232314}',
    providerRequest: () => {
      const signature = new StandardWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw').sign('msg_1', AT, '{"test":2432232314}');
      return { headers: { 'webhook-id': 'msg_1', 'webhook-timestamp': seconds(AT), 'webhook-signature': signature }, body: '{"test":2432232314}', now: AT };
    },
    sdkAccepts: (sample, key) => Boolean(new StandardWebhook(key).verify(sample.body, sample.headers)),
    signatureHeaders: ['webhook-id', 'webhook-timestamp', 'webhook-signature'],
    timestamped: true,
    expected: { eventKey: 'msg_1' },
  },
  {
    scheme: 'TWILIO',
    source: 'twilio getExpectedTwilioSignature',
    secret: '12345678901234567890123456789012',
    wrongSecret: 'abcdefabcdefabcdefabcdefabcdefab',
    contentType: 'application/x-www-form-urlencoded',
    url: 'https://hooks.example.com/api/v1/webhooks/twilio?region=eu',
    body: 'MessageSid=SM1&From=%2B14155550100&To=%2B14155550199&Body=Hello+%C3%A9&MediaUrl0=https%3A%2F%2Fa&MediaUrl0=https%3A%2F%2Fb',
    providerRequest: () => {
      const body = 'MessageSid=SM1&From=%2B14155550100&To=%2B14155550199&Body=Hello+%C3%A9&MediaUrl0=https%3A%2F%2Fa&MediaUrl0=https%3A%2F%2Fb';
      const params = { MessageSid: 'SM1', From: '+14155550100', To: '+14155550199', Body: 'Hello é', MediaUrl0: ['https://a', 'https://b'] };
      const signature = twilio.getExpectedTwilioSignature('12345678901234567890123456789012', 'https://hooks.example.com/api/v1/webhooks/twilio?region=eu', params);
      return { headers: { 'x-twilio-signature': signature, 'i-twilio-idempotency-token': 'idem-1' }, body, now: AT };
    },
    sdkAccepts: (sample, key) =>
      twilio.validateRequest(key, sample.headers['x-twilio-signature']!, 'https://hooks.example.com/api/v1/webhooks/twilio?region=eu', parseFormBody(Buffer.from(sample.body))),
    signatureHeaders: ['x-twilio-signature'],
    expected: { eventKey: 'idem-1' },
  },
  {
    scheme: 'SENDGRID',
    source: "SendGrid's published vector (@sendgrid/eventwebhook spec), checked by EventWebhook#verifySignature",
    secret: SENDGRID_VECTOR.publicKey,
    wrongSecret: SENDGRID_VECTOR.otherKey,
    sampleKeys: TEST_KEY_PAIRS['ecdsa-p256'],
    body: SENDGRID_VECTOR.body,
    providerRequest: () => ({
      headers: { 'x-twilio-email-event-webhook-signature': SENDGRID_VECTOR.signature, 'x-twilio-email-event-webhook-timestamp': SENDGRID_VECTOR.timestamp },
      body: SENDGRID_VECTOR.body,
      now: new Date(Number(SENDGRID_VECTOR.timestamp) * 1000),
    }),
    sdkAccepts: (sample, key) => {
      const webhook = new EventWebhook();
      return webhook.verifySignature(webhook.convertPublicKeyToECDSA(key), sample.body, sample.headers['x-twilio-email-event-webhook-signature']!, sample.headers['x-twilio-email-event-webhook-timestamp']!);
    },
    signatureHeaders: ['x-twilio-email-event-webhook-signature', 'x-twilio-email-event-webhook-timestamp'],
    timestamped: true,
    expected: { eventType: undefined },
  },
  {
    scheme: 'DISCORD',
    source: 'Ed25519 over timestamp+body as "Receiving and Responding to Interactions" describes (node:crypto), accepted by discord-interactions verifyKey',
    secret: TEST_KEY_PAIRS.ed25519.publicKey,
    wrongSecret: otherEd25519,
    sampleKeys: TEST_KEY_PAIRS.ed25519,
    body: '{"id":"1234567890","type":2,"data":{"name":"hello"}}',
    providerRequest: async () => {
      const body = '{"id":"1234567890","type":2,"data":{"name":"hello"}}';
      const timestamp = seconds(AT);
      const signature = cryptoSign(null, Buffer.from(timestamp + body), createPrivateKey(TEST_KEY_PAIRS.ed25519.privateKey)).toString('hex');
      if (!(await verifyKey(body, signature, timestamp, TEST_KEY_PAIRS.ed25519.publicKey))) throw new Error('discord-interactions refused the request');
      return { headers: { 'x-signature-ed25519': signature, 'x-signature-timestamp': timestamp }, body, now: AT };
    },
    sdkAccepts: (sample, key) => verifyKey(sample.body, sample.headers['x-signature-ed25519']!, sample.headers['x-signature-timestamp']!, key),
    signatureHeaders: ['x-signature-ed25519', 'x-signature-timestamp'],
    timestamped: true,
  },
  {
    scheme: 'PADDLE',
    source: 'paddle-signature as "Verify webhook signatures" builds it, accepted by @paddle/paddle-node-sdk Webhooks#isSignatureValid',
    secret: 'pdl_ntfset_01gkpjp8bkm3tm53kdgkx6sms7_6h3qd3uFSi9YCD3OLYAShQI90XTI5vEI',
    wrongSecret: 'pdl_ntfset_01gkpjp8bkm3tm53kdgkx6sms7_otherotherotherotherother0',
    body: '{"event_id":"evt_01h","event_type":"subscription.created","data":{}}',
    providerRequest: async () => {
      const now = new Date();
      const body = '{"event_id":"evt_01h","event_type":"subscription.created","data":{}}';
      const secret = 'pdl_ntfset_01gkpjp8bkm3tm53kdgkx6sms7_6h3qd3uFSi9YCD3OLYAShQI90XTI5vEI';
      const header = `ts=${seconds(now)};h1=${hmac('sha256', secret, `${seconds(now)}:${body}`, 'hex')}`;
      if (!(await paddle.webhooks.isSignatureValid(body, secret, header))) throw new Error('the Paddle SDK refused the request');
      return { headers: { 'paddle-signature': header }, body, now };
    },
    sdkAccepts: (sample, key) => paddle.webhooks.isSignatureValid(sample.body, key, sample.headers['paddle-signature']!),
    signatureHeaders: ['paddle-signature'],
    timestamped: true,
  },
  {
    scheme: 'MUX',
    source: 'mux-signature as "Verify webhook signatures" builds it, accepted by @mux/mux-node webhooks.verifySignature',
    secret: 'mux-webhook-signing-secret-0123',
    wrongSecret: 'mux-webhook-signing-secret-9999',
    body: '{"id":"3a56ac3d-33da-4366-855b-f592d898409d","type":"video.asset.ready","data":{}}',
    providerRequest: () => {
      const now = new Date();
      const body = '{"id":"3a56ac3d-33da-4366-855b-f592d898409d","type":"video.asset.ready","data":{}}';
      return { headers: { 'mux-signature': `t=${seconds(now)},v1=${hmac('sha256', 'mux-webhook-signing-secret-0123', `${seconds(now)}.${body}`, 'hex')}` }, body, now };
    },
    sdkAccepts: async (sample, key) => {
      await new Mux({ tokenId: 'unused', tokenSecret: 'unused' }).webhooks.verifySignature(sample.body, sample.headers, key);
      return true;
    },
    signatureHeaders: ['mux-signature'],
    timestamped: true,
  },
  {
    scheme: 'RAZORPAY',
    source: 'x-razorpay-signature as "Validate and Test Webhooks" builds it, accepted by razorpay validateWebhookSignature',
    secret: 'razorpay-webhook-secret-0123',
    wrongSecret: 'razorpay-webhook-secret-9999',
    body: '{"entity":"event","event":"payment.captured","payload":{}}',
    providerRequest: () => {
      const body = '{"entity":"event","event":"payment.captured","payload":{}}';
      const signature = hmac('sha256', 'razorpay-webhook-secret-0123', body, 'hex');
      if (!Razorpay.validateWebhookSignature(body, signature, 'razorpay-webhook-secret-0123')) throw new Error('razorpay refused the request');
      return { headers: { 'x-razorpay-signature': signature, 'x-razorpay-event-id': 'Fd3kR2' }, body, now: AT };
    },
    sdkAccepts: (sample, key) => Razorpay.validateWebhookSignature(sample.body, sample.headers['x-razorpay-signature']!, key),
    signatureHeaders: ['x-razorpay-signature'],
    expected: { eventKey: 'Fd3kR2' },
  },
  {
    scheme: 'LINE',
    source: 'x-line-signature as "Verify webhook signature" builds it, accepted by @line/bot-sdk validateSignature',
    secret: 'line-channel-secret-0123456789',
    wrongSecret: 'line-channel-secret-9999999999',
    body: '{"destination":"U1","events":[{"type":"message","webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3ZR"}]}',
    providerRequest: () => {
      const body = '{"destination":"U1","events":[{"type":"message","webhookEventId":"01FZ74A0TDDPYRVKNK77XKC3ZR"}]}';
      const signature = hmac('sha256', 'line-channel-secret-0123456789', body, 'base64');
      if (!lineValidate(body, 'line-channel-secret-0123456789', signature)) throw new Error('@line/bot-sdk refused the request');
      return { headers: { 'x-line-signature': signature }, body, now: AT };
    },
    sdkAccepts: (sample, key) => lineValidate(sample.body, key, sample.headers['x-line-signature']!),
    signatureHeaders: ['x-line-signature'],
  },
  svixCase('CLERK', 'Clerk'),
  svixCase('RESEND', 'Resend'),
];
