import { randomBytes } from 'node:crypto';
import { hmac, seconds, type PresetCase } from './preset-harness.js';

/**
 * Presets whose provider ships no verifying library on npm: the request is built as the named
 * documentation page describes, with node:crypto (never Hookgate's signer), or is the page's own
 * published example where it gives one (Slack).
 */

const AT = new Date('2026-12-03T12:00:00Z');
const SECRET = 'provider-signing-secret-0123456789';
const WRONG = 'provider-signing-secret-9876543210';

/** A provider that signs the raw body alone into one header. */
function bodySigned(
  scheme: PresetCase['scheme'],
  source: string,
  header: string,
  sign: (body: string) => string,
  body: string,
  extra: { headers?: Record<string, string>; expected?: PresetCase['expected'] } = {},
): PresetCase {
  return {
    scheme,
    source,
    secret: SECRET,
    wrongSecret: WRONG,
    body,
    providerRequest: () => ({ headers: { [header]: sign(body), ...extra.headers }, body, now: AT }),
    signatureHeaders: [header],
    ...(extra.expected ? { expected: extra.expected } : {}),
  };
}

const teamsKey = randomBytes(32).toString('base64');
const hubspotUrl = 'https://hooks.example.com/api/v1/webhooks/hubspot?portal=a%3Ab';

export const DOC_CASES: PresetCase[] = [
  bodySigned('HMAC_SHA256', 'Hookgate partner scheme (README: HMAC_SHA256)', 'x-acme-signature', (b) => `sha256=${hmac('sha256', SECRET, b, 'hex')}`, '{"id":"evt_1"}'),
  { ...bodySigned('SHARED_TOKEN', 'Hookgate partner scheme (README: SHARED_TOKEN)', 'x-globex-token', () => SECRET, '{"id":"evt_1"}'), bodyBound: false },
  bodySigned('SHOPIFY', 'Shopify "Verify webhooks": base64 HMAC-SHA256 of the body', 'x-shopify-hmac-sha256', (b) => hmac('sha256', SECRET, b, 'base64'), '{"id":1}', {
    headers: { 'x-shopify-webhook-id': 'wh-1', 'x-shopify-topic': 'orders/create' },
    expected: { eventKey: 'wh-1', eventType: 'orders/create' },
  }),
  {
    scheme: 'SLACK',
    source: 'Slack "Verifying requests from Slack": the page\'s own example request (a slash command form)',
    secret: '8f742231b10e8888abcd99yyyzzz85a5',
    wrongSecret: '8f742231b10e8888abcd99yyyzzz85a6',
    contentType: 'application/x-www-form-urlencoded',
    body: 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
    providerRequest: () => ({
      headers: { 'x-slack-request-timestamp': '1531420618', 'x-slack-signature': 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503' },
      body: 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
      now: new Date(1531420618 * 1000),
    }),
    signatureHeaders: ['x-slack-signature', 'x-slack-request-timestamp'],
    timestamped: true,
  },
  {
    scheme: 'MAILGUN',
    source: 'Mailgun "Securing Webhooks": hex HMAC-SHA256 of timestamp+token, inside the body',
    secret: SECRET,
    wrongSecret: WRONG,
    body: '{}',
    providerRequest: () => {
      const timestamp = seconds(AT);
      const token = 'a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0';
      const body = JSON.stringify({ signature: { timestamp, token, signature: hmac('sha256', SECRET, timestamp + token, 'hex') }, 'event-data': { id: 'Ase7i2zsRYeDXztHGENqRA', event: 'delivered' } });
      return { headers: {}, body, now: AT };
    },
    strip: (request) => {
      const { signature: _removed, ...rest } = JSON.parse(request.body) as Record<string, unknown>;
      return { ...request, body: JSON.stringify(rest) };
    },
    signatureHeaders: [],
    timestamped: true,
    bodyBound: false,
  },
  {
    scheme: 'SQUARE',
    source: 'Square "Verify and Validate an Event Notification": base64 HMAC-SHA256 of notification URL + body',
    secret: SECRET,
    wrongSecret: WRONG,
    url: 'https://hooks.example.com/api/v1/webhooks/square',
    body: '{"merchant_id":"M1","type":"payment.updated","event_id":"e-1"}',
    providerRequest: () => {
      const body = '{"merchant_id":"M1","type":"payment.updated","event_id":"e-1"}';
      return { headers: { 'x-square-hmacsha256-signature': hmac('sha256', SECRET, `https://hooks.example.com/api/v1/webhooks/square${body}`, 'base64') }, body, now: AT };
    },
    signatureHeaders: ['x-square-hmacsha256-signature'],
  },
  {
    scheme: 'LINEAR',
    source: 'Linear "Webhooks" (securing webhooks): hex HMAC-SHA256 of the body; webhookTimestamp in the body',
    secret: SECRET,
    wrongSecret: WRONG,
    body: '{"action":"create","type":"Issue"}',
    providerRequest: () => {
      const body = JSON.stringify({ action: 'create', type: 'Issue', webhookTimestamp: AT.getTime() });
      return { headers: { 'linear-signature': hmac('sha256', SECRET, body, 'hex'), 'linear-delivery': 'del-1', 'linear-event': 'Issue' }, body, now: AT };
    },
    signatureHeaders: ['linear-signature'],
    timestamped: true,
    expected: { eventKey: 'del-1', eventType: 'Issue' },
  },
  bodySigned('INTERCOM', 'Intercom "Setting up webhooks": x-hub-signature sha1=<hex HMAC-SHA1 of the body>', 'x-hub-signature', (b) => `sha1=${hmac('sha1', SECRET, b, 'hex')}`, '{"type":"notification_event","id":"notif_1","topic":"conversation.user.created"}'),
  {
    scheme: 'HUBSPOT',
    source: 'HubSpot "Validating requests from HubSpot" (v3): base64 HMAC-SHA256 of method+URI (listed escapes decoded)+body+timestamp',
    secret: SECRET,
    wrongSecret: WRONG,
    url: hubspotUrl,
    body: '[{"eventId":1,"subscriptionType":"contact.creation"}]',
    providerRequest: () => {
      const body = '[{"eventId":1,"subscriptionType":"contact.creation"}]';
      const timestamp = String(AT.getTime());
      const uri = 'https://hooks.example.com/api/v1/webhooks/hubspot?portal=a:b';
      return { headers: { 'x-hubspot-signature-v3': hmac('sha256', SECRET, `POST${uri}${body}${timestamp}`, 'base64'), 'x-hubspot-request-timestamp': timestamp }, body, now: AT };
    },
    signatureHeaders: ['x-hubspot-signature-v3', 'x-hubspot-request-timestamp'],
    timestamped: true,
  },
  {
    scheme: 'ZOOM',
    source: 'Zoom "Using webhooks" (verify webhook events): v0=hex HMAC-SHA256 of v0:timestamp:body',
    secret: SECRET,
    wrongSecret: WRONG,
    body: '{"event":"meeting.started","event_ts":1,"payload":{}}',
    providerRequest: () => {
      const body = '{"event":"meeting.started","event_ts":1,"payload":{}}';
      return { headers: { 'x-zm-signature': `v0=${hmac('sha256', SECRET, `v0:${seconds(AT)}:${body}`, 'hex')}`, 'x-zm-request-timestamp': seconds(AT) }, body, now: AT };
    },
    signatureHeaders: ['x-zm-signature', 'x-zm-request-timestamp'],
    timestamped: true,
  },
  {
    scheme: 'MICROSOFT_GRAPH',
    source: 'Microsoft Graph "Receive change notifications through webhooks": clientState in every notification',
    secret: SECRET,
    wrongSecret: WRONG,
    body: '{}',
    providerRequest: () => ({
      headers: {},
      body: JSON.stringify({ value: [{ subscriptionId: 's-1', changeType: 'created', clientState: SECRET, resource: 'Users/1/Messages/2' }] }),
      now: AT,
    }),
    strip: (request) => ({ ...request, body: request.body.replace(`,"clientState":"${SECRET}"`, '') }),
    signatureHeaders: [],
    bodyBound: false,
  },
  {
    scheme: 'MICROSOFT_TEAMS',
    source: 'Microsoft Teams "Create Outgoing Webhooks": authorization HMAC <base64 HMAC-SHA256 keyed with the base64-decoded token>',
    secret: teamsKey,
    wrongSecret: randomBytes(32).toString('base64'),
    body: '{"type":"message","id":"1485983408511","text":"<at>bot</at> hi"}',
    providerRequest: () => {
      const body = '{"type":"message","id":"1485983408511","text":"<at>bot</at> hi"}';
      return { headers: { authorization: `HMAC ${hmac('sha256', Buffer.from(teamsKey, 'base64'), body, 'base64')}` }, body, now: AT };
    },
    signatureHeaders: ['authorization'],
  },
  bodySigned('TYPEFORM', 'Typeform "Secure your webhooks": typeform-signature sha256=<base64 HMAC-SHA256>', 'typeform-signature', (b) => `sha256=${hmac('sha256', SECRET, b, 'base64')}`, '{"event_id":"01G","event_type":"form_response"}'),
  {
    scheme: 'CALENDLY',
    source: 'Calendly "Webhook signatures": t=<unix>,v1=<hex HMAC-SHA256 of t.body>',
    secret: SECRET,
    wrongSecret: WRONG,
    body: '{"event":"invitee.created","payload":{}}',
    providerRequest: () => {
      const body = '{"event":"invitee.created","payload":{}}';
      return { headers: { 'calendly-webhook-signature': `t=${seconds(AT)},v1=${hmac('sha256', SECRET, `${seconds(AT)}.${body}`, 'hex')}` }, body, now: AT };
    },
    signatureHeaders: ['calendly-webhook-signature'],
    timestamped: true,
  },
  bodySigned('LEMON_SQUEEZY', 'Lemon Squeezy "Signing requests": x-signature hex HMAC-SHA256', 'x-signature', (b) => hmac('sha256', SECRET, b, 'hex'), '{"meta":{"event_name":"order_created"},"data":{}}', {
    headers: { 'x-event-name': 'order_created' },
    expected: { eventType: 'order_created' },
  }),
  {
    ...bodySigned('PAGERDUTY', 'PagerDuty "Verifying Signatures" (V3): v1=<hex>, one per active secret', 'x-pagerduty-signature', (b) => `v1=${hmac('sha256', 'a-third-rotated-out-secret-000', b, 'hex')},v1=${hmac('sha256', SECRET, b, 'hex')}`, '{"event":{"id":"01DEN","event_type":"incident.triggered"}}'),
  },
  bodySigned('SENTRY', 'Sentry "Webhooks" (integration platform): sentry-hook-signature hex HMAC-SHA256', 'sentry-hook-signature', (b) => hmac('sha256', SECRET, b, 'hex'), '{"action":"created","data":{}}', {
    headers: { 'request-id': 'r-1', 'sentry-hook-resource': 'issue' },
    expected: { eventKey: 'r-1', eventType: 'issue' },
  }),
  bodySigned('VERCEL', 'Vercel "Webhooks" (securing webhooks): x-vercel-signature hex HMAC-SHA1', 'x-vercel-signature', (b) => hmac('sha1', SECRET, b, 'hex'), '{"id":"evt_1","type":"deployment.created"}'),
  bodySigned('BITBUCKET', 'Bitbucket Cloud "Manage webhooks" (secure webhooks): x-hub-signature sha256=<hex>', 'x-hub-signature', (b) => `sha256=${hmac('sha256', SECRET, b, 'hex')}`, '{"push":{}}', {
    headers: { 'x-request-uuid': 'u-1', 'x-event-key': 'repo:push' },
    expected: { eventKey: 'u-1', eventType: 'repo:push' },
  }),
  {
    ...bodySigned('GITLAB', 'GitLab "Webhooks": x-gitlab-token is the secret token itself', 'x-gitlab-token', () => SECRET, '{"object_kind":"push"}', {
      headers: { 'idempotency-key': 'i-1', 'x-gitlab-event': 'Push Hook' },
      expected: { eventKey: 'i-1', eventType: 'Push Hook' },
    }),
    bodyBound: false,
  },
  {
    ...bodySigned('POSTMARK', 'Postmark "Webhooks overview": basic auth credentials from the webhook URL', 'authorization', () => `Basic ${Buffer.from(SECRET).toString('base64')}`, '{"RecordType":"Delivery","MessageID":"m-1"}'),
    bodyBound: false,
  },
  bodySigned('COINBASE_COMMERCE', 'Coinbase Commerce "Webhooks": x-cc-webhook-signature hex HMAC-SHA256', 'x-cc-webhook-signature', (b) => hmac('sha256', SECRET, b, 'hex'), '{"event":{"id":"e-1","type":"charge:confirmed"}}'),
  bodySigned('SEGMENT', 'Segment "Webhooks" destination: x-signature hex HMAC-SHA1', 'x-signature', (b) => hmac('sha1', SECRET, b, 'hex'), '{"messageId":"m-1","type":"track"}'),
  {
    scheme: 'ZENDESK',
    source: 'Zendesk "Verifying webhook authenticity": base64 HMAC-SHA256 of timestamp+body',
    secret: SECRET,
    wrongSecret: WRONG,
    body: '{"type":"zen:event-type:ticket.created","detail":{}}',
    providerRequest: () => {
      const body = '{"type":"zen:event-type:ticket.created","detail":{}}';
      const timestamp = `${AT.toISOString().slice(0, 19)}Z`;
      return {
        headers: { 'x-zendesk-webhook-signature': hmac('sha256', SECRET, timestamp + body, 'base64'), 'x-zendesk-webhook-signature-timestamp': timestamp, 'x-zendesk-webhook-invocation-id': 'inv-1' },
        body,
        now: AT,
      };
    },
    signatureHeaders: ['x-zendesk-webhook-signature', 'x-zendesk-webhook-signature-timestamp'],
    timestamped: true,
    expected: { eventKey: 'inv-1' },
  },
  {
    ...bodySigned('OKTA', 'Okta "Event hooks": the configured authorization header value', 'authorization', () => SECRET, '{"eventType":"com.okta.event_hook","eventId":"ev-1","data":{"events":[]}}'),
    bodyBound: false,
  },
];
