import { randomBytes, randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from '../../src/cli/index.js';
import { createKeyring, keyIdOf, parseEncryptionKey } from '../../src/secrets/secret-box.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { describeWithServices } from '../helpers/services.js';
import { hexHmac, postWebhook } from '../helpers/signing.js';

const whsec = () => `whsec_${randomBytes(32).toString('base64')}`;

describeWithServices('secrets encrypted at rest', ['kafka', 'postgres', 'redis'], () => {
  let app: TestApp;
  let sql: postgres.Sql;
  const keyA = randomBytes(32).toString('base64');
  const keyB = randomBytes(32).toString('base64');
  const first = `first-secret-${randomUUID()}`;
  const second = `second-secret-${randomUUID()}`;
  const destinationSecret = whsec();
  const legacySecret = `legacy-plain-secret-${randomUUID()}`;

  beforeAll(async () => {
    app = await startTestApp({ HOOKGATE_ENCRYPTION_KEYS: keyA, DELIVERY_ALLOWED_HOSTS: '127.0.0.1' });
    sql = postgres(app.database.url, { max: 2 });
  });

  afterAll(async () => {
    await sql?.end();
    await app?.stop();
  });

  const rawTables = async () =>
    JSON.stringify([
      await sql`select * from integrations`,
      await sql`select * from destinations`,
      await sql`select * from audit_entries`,
    ]);

  it('stores no integration, previous or destination secret in the clear, and still verifies with them', async () => {
    const created = await app.graphql<{ createIntegration: { __typename: string; id: string } }>(
      `mutation ($input: CreateIntegrationInput!) { createIntegration(input: $input) { __typename ... on Integration { id } } }`,
      {
        input: {
          provider: 'sealed',
          name: 'Sealed',
          verification: { scheme: 'HMAC_SHA256', secret: first, header: 'x-sealed-sig' },
          destinations: [{ url: 'http://127.0.0.1:9/in', secret: destinationSecret }],
        },
      },
    );
    expect(created.data?.createIntegration.__typename).toBe('Integration');
    const rotated = await app.graphql<{ rotateIntegrationSecret: { __typename: string } }>(
      `mutation ($input: RotateIntegrationSecretInput!) { rotateIntegrationSecret(input: $input) { __typename } }`,
      { input: { id: created.data!.createIntegration.id, secret: second } },
    );
    expect(rotated.data?.rotateIntegrationSecret.__typename).toBe('Integration');

    const raw = await rawTables();
    for (const secret of [first, second, destinationSecret]) expect(raw).not.toContain(secret);
    const [row] = await sql<{ secret: string; previous_secret: string }[]>`select secret, previous_secret from integrations where provider = 'sealed'`;
    const keyId = keyIdOf(parseEncryptionKey(keyA)!);
    expect(row!.secret.startsWith(`hg1:${keyId}:`)).toBe(true);
    expect(row!.previous_secret.startsWith(`hg1:${keyId}:`)).toBe(true);

    // Both secrets still sign during the grace period: the directory opens what it loads.
    for (const secret of [second, first]) {
      const body = JSON.stringify({ id: randomUUID() });
      expect((await postWebhook(app.ingressUrl, 'sealed', body, { 'x-sealed-sig': hexHmac(secret, body) })).status).toBe(202);
    }
  });

  it('`hookgate secrets rotate` seals rows stored in the clear and re-seals everything under the newest key', async () => {
    await sql`insert into integrations (provider, name, scheme, secret) values ('legacy', 'Legacy', 'HMAC_SHA256', ${legacySecret})`;
    expect(await rawTables()).toContain(legacySecret);
    const output: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => output.push(String(chunk)) > 0) as typeof process.stdout.write;
    try {
      await runCli(['secrets', 'rotate'], { DATABASE_URL: app.database.url, HOOKGATE_ENCRYPTION_KEYS: `${keyB},${keyA}`, NODE_ENV: 'test' });
    } finally {
      process.stdout.write = write;
    }
    expect(output.join('')).toMatch(/re-encrypted \d+ secrets/);
    const raw = await rawTables();
    for (const secret of [first, second, destinationSecret, legacySecret]) expect(raw).not.toContain(secret);
    const newest = createKeyring([parseEncryptionKey(keyB)!]);
    const values = [
      ...(await sql<{ value: string }[]>`select secret as value from integrations union all select previous_secret from integrations where previous_secret is not null`),
      ...(await sql<{ value: string }[]>`select secret as value from destinations`),
    ].map((row) => row.value);
    expect(values.length).toBeGreaterThanOrEqual(4);
    for (const value of values) expect(newest.needsResealing(value)).toBe(false);
    // Only the newest key is needed now.
    expect(values.map((value) => newest.open(value))).toEqual(expect.arrayContaining([first, second, destinationSecret, legacySecret]));
  });
});
