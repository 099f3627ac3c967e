import { createHmac } from 'node:crypto';
import { verifyKey } from 'discord-interactions';
import postgres from 'postgres';
import twilio from 'twilio';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { signAs } from '../../src/cli/sign.js';
import { TEST_KEY_PAIRS } from '../../src/cli/test-keys.js';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { describeWithServices } from '../helpers/services.js';

/**
 * Provider presets through the real ingress, Kafka, persist step and Postgres: a form body stored
 * raw with its fields as `payload`, handshakes answered exactly and audited but never stored, and
 * a public-key preset.
 */
describeWithServices('provider presets through the real ingress', ['kafka', 'postgres', 'redis'], () => {
  let app: TestApp;
  let sql: postgres.Sql;
  let discordId: string;
  const publicUrl = 'https://hooks.example.com/api/v1/webhooks/twilio';
  const secret = 'provider-signing-secret-0123456789';

  async function createIntegration(provider: string, verification: Record<string, unknown>) {
    const result = await app.graphql<{ createIntegration: { __typename: string; id: string; message?: string } }>(
      `mutation ($input: CreateIntegrationInput!) {
         createIntegration(input: $input) { __typename ... on Integration { id } ... on Error { message } }
       }`,
      { input: { provider, name: provider, verification } },
    );
    expect(result.data?.createIntegration.__typename, JSON.stringify(result)).toBe('Integration');
    return result.data!.createIntegration.id;
  }

  beforeAll(async () => {
    app = await startTestApp();
    sql = postgres(app.database.url, { max: 2 });
    await createIntegration('twilio', { scheme: 'TWILIO', secret, publicUrl });
    await createIntegration('zoom', { scheme: 'ZOOM', secret });
    await createIntegration('okta', { scheme: 'OKTA', secret });
    discordId = await createIntegration('discord', { scheme: 'DISCORD', secret: TEST_KEY_PAIRS.ed25519.publicKey });
  });
  afterAll(async () => {
    await sql?.end({ timeout: 5 });
    await app?.stop();
  });

  it('refuses a URL-signing preset without its public URL, and a public-key preset with an unreadable key', async () => {
    const missingUrl = await app.graphql<{ createIntegration: { __typename: string; message?: string } }>(
      `mutation { createIntegration(input: { provider: "square", name: "s", verification: { scheme: SQUARE, secret: "${secret}" } }) { __typename ... on Error { message } } }`,
    );
    expect(missingUrl.data?.createIntegration.__typename).toBe('ValidationError');
    const badKey = await app.graphql<{ createIntegration: { __typename: string } }>(
      `mutation { createIntegration(input: { provider: "sendgrid", name: "s", verification: { scheme: SENDGRID, secret: "not-a-public-key-at-all" } }) { __typename } }`,
    );
    expect(badKey.data?.createIntegration.__typename).toBe('ValidationError');
    const rotate = (secret: string) =>
      app.graphql<{ rotateIntegrationSecret: { __typename: string } }>(
        'mutation ($input: RotateIntegrationSecretInput!) { rotateIntegrationSecret(input: $input) { __typename } }',
        { input: { id: discordId, secret, previousSecretTtlSeconds: 0 } },
      );
    expect((await rotate('not-a-public-key-at-all')).data?.rotateIntegrationSecret.__typename).toBe('ValidationError');
    expect((await rotate(TEST_KEY_PAIRS.ed25519.publicKey)).data?.rotateIntegrationSecret.__typename).toBe('Integration');
  });

  it('stores a Twilio form post raw, with its fields as a JSON object in payload', async () => {
    const body = 'MessageSid=SM42&From=%2B14155550100&Body=Caf%C3%A9+%26+cr%C3%A8me&MediaUrl0=https%3A%2F%2Fa&MediaUrl0=https%3A%2F%2Fb';
    const params = { MessageSid: 'SM42', From: '+14155550100', Body: 'Café & crème', MediaUrl0: ['https://a', 'https://b'] };
    const response = await fetch(`${app.ingressUrl}/api/v1/webhooks/twilio`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(secret, publicUrl, params),
        'i-twilio-idempotency-token': 'idem-twilio-1',
      },
      body,
    });
    expect(response.status).toBe(202);
    const { eventId } = (await response.json()) as { eventId: string };
    const [row] = await eventually(async () => {
      const rows = await sql<{ raw_body: Buffer; payload: unknown; event_key: string }[]>`select raw_body, payload, event_key from events where id = ${eventId}`;
      return rows.length ? rows : undefined;
    });
    expect(row!.raw_body.toString('utf8')).toBe(body);
    expect(row!.payload).toEqual(params);
    expect(row!.event_key).toBe('idem-twilio-1');

    const tampered = await fetch(`${app.ingressUrl}/api/v1/webhooks/twilio`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(secret, publicUrl, params) },
      body: body.replace('SM42', 'SM43'),
    });
    expect(tampered.status).toBe(401);
  });

  it('answers Zoom url_validation and Okta verification byte for byte, audits them, and stores no event', async () => {
    const body = '{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}';
    const timestamp = String(Math.floor(Date.now() / 1000));
    const zoom = await fetch(`${app.ingressUrl}/api/v1/webhooks/zoom`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-zm-request-timestamp': timestamp,
        'x-zm-signature': `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`,
      },
      body,
    });
    expect(zoom.status).toBe(200);
    expect(zoom.headers.get('content-type')).toBe('application/json');
    const encryptedToken = createHmac('sha256', secret).update('qgg8vlvZRS6UYooatFL8Aw').digest('hex');
    expect(await zoom.text()).toBe(`{"plainToken":"qgg8vlvZRS6UYooatFL8Aw","encryptedToken":"${encryptedToken}"}`);

    const okta = await fetch(`${app.ingressUrl}/api/v1/webhooks/okta`, { headers: { 'x-okta-verification-challenge': 'c0ffee-42' } });
    expect(okta.status).toBe(200);
    expect(await okta.text()).toBe('{"verification":"c0ffee-42"}');

    const audits = await sql<{ details: { handshake: string; provider: string }; target_id: string }[]>`
      select details, target_id from audit_entries where action = 'integration.handshake' order by at`;
    expect(audits.map((entry) => entry.details.handshake)).toEqual(['zoom.url_validation', 'okta.verification']);
    const stored = await sql<{ count: number }[]>`select count(*)::int as count from events where provider in ('zoom', 'okta')`;
    expect(stored[0]!.count).toBe(0);
  });

  it('verifies a Discord interaction with the configured Ed25519 public key; hookgate send signs it with the test key', async () => {
    const body = Buffer.from('{"id":"interaction-1","type":2,"data":{"name":"hello"}}');
    const sample = signAs('DISCORD', TEST_KEY_PAIRS.ed25519.publicKey, body, { id: 'unused' });
    expect(await verifyKey(sample.body, sample.headers['x-signature-ed25519']!, sample.headers['x-signature-timestamp']!, TEST_KEY_PAIRS.ed25519.publicKey)).toBe(true);
    const post = (headers: Record<string, string>, payload: Buffer) =>
      fetch(`${app.ingressUrl}/api/v1/webhooks/discord`, { method: 'POST', headers: { 'content-type': sample.contentType, ...headers }, body: new Uint8Array(payload) });
    const accepted = await post(sample.headers, sample.body);
    expect(accepted.status).toBe(202);
    const { eventId } = (await accepted.json()) as { eventId: string };
    const [row] = await eventually(async () => {
      const rows = await sql<{ event_key: string; event_type: string }[]>`select event_key, event_type from events where id = ${eventId}`;
      return rows.length ? rows : undefined;
    });
    expect(row).toEqual({ event_key: 'interaction-1', event_type: '2' });
    expect((await post(sample.headers, Buffer.from(body.toString().replace('hello', 'hellp')))).status).toBe(401);
    expect((await post({}, sample.body)).status).toBe(401);
  });
});
