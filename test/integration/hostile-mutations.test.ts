import { randomUUID } from 'node:crypto';
import { drizzle } from 'drizzle-orm/postgres-js';
import { GraphQLError } from 'graphql';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { integrations } from '../../src/db/schema.js';
import { buildSchema } from '../../src/graph/schema/index.js';
import { createLogger } from '../../src/log.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { describeWithServices } from '../helpers/services.js';

/**
 * Item 1 of issue 12: every mutation, fed hostile strings next to real secrets, answers a typed
 * ValidationError, and neither the responses nor any log line (at debug level) contain a secret.
 */

const HOSTILE = ['nul\u0000inside', '\u0000', 'lone \uD800 surrogate', '\uDFFF', 'x'.repeat(5_000), 'é'.repeat(4_097), 'ok\u0000'.repeat(50)];
const whsec = (seed: string) => `whsec_${Buffer.from(`hostile-destination-secret-${seed}`).toString('base64')}`;

describeWithServices('hostile strings in every mutation', ['kafka', 'postgres', 'redis'], () => {
  let app: TestApp;
  const lines: string[] = [];
  const integrationSecret = `integration-secret-${randomUUID()}`;
  const rotatedSecret = `rotated-secret-${randomUUID()}`;
  const destinationSecret = whsec(randomUUID());
  const secrets = [integrationSecret, rotatedSecret, destinationSecret];
  let integrationId = '';
  let destinationId = '';

  beforeAll(async () => {
    app = await startTestApp({ LOG_LEVEL: 'debug', DELIVERY_ALLOWED_HOSTS: '127.0.0.1' }, { logWrite: (line) => void lines.push(line) });
    const created = await app.graphql<{ createIntegration: { __typename: string; id: string; destinations: { id: string }[] } }>(
      `mutation ($input: CreateIntegrationInput!) { createIntegration(input: $input) { __typename ... on Integration { id destinations { id } } } }`,
      {
        input: {
          provider: 'hostile',
          name: 'Hostile',
          verification: { scheme: 'HMAC_SHA256', secret: `base-${integrationSecret}` },
          destinations: [{ url: 'http://127.0.0.1:9/in', secret: whsec('base') }],
        },
      },
    );
    expect(created.data?.createIntegration.__typename).toBe('Integration');
    integrationId = created.data!.createIntegration.id;
    destinationId = created.data!.createIntegration.destinations[0]!.id;
  });

  afterAll(async () => {
    await app?.stop();
  });

  /** Each mutation with a valid input holding secrets; the sweep puts a hostile string in each string field in turn. */
  const cases: Record<string, { inputType: string; input: () => Record<string, unknown> }> = {
    createIntegration: {
      inputType: 'CreateIntegrationInput',
      input: () => ({
        provider: `p${randomUUID().slice(0, 8)}`,
        name: 'Name',
        verification: { scheme: 'SHARED_TOKEN', secret: integrationSecret, header: 'x-globex-key', eventKeyPath: '$.id' },
        destinations: [{ url: 'http://127.0.0.1:9/in', secret: destinationSecret }],
      }),
    },
    updateIntegration: {
      inputType: 'UpdateIntegrationInput',
      input: () => ({ id: integrationId, name: 'Renamed', verification: { header: 'x-sig' }, destinations: [{ url: 'http://127.0.0.1:9/b', secret: destinationSecret }] }),
    },
    rotateIntegrationSecret: { inputType: 'RotateIntegrationSecretInput', input: () => ({ id: integrationId, secret: rotatedSecret }) },
    addDestination: { inputType: 'AddDestinationInput', input: () => ({ integrationId, url: 'http://127.0.0.1:9/c', secret: destinationSecret }) },
    updateDestination: { inputType: 'UpdateDestinationInput', input: () => ({ id: destinationId, url: 'http://127.0.0.1:9/d', secret: destinationSecret }) },
    disableDestination: { inputType: 'DisableDestinationInput', input: () => ({ id: destinationId, reason: `because ${destinationSecret}`.slice(0, 400) }) },
    parkDestination: { inputType: 'ParkDestinationInput', input: () => ({ id: destinationId, reason: `parking ${destinationSecret}`.slice(0, 400) }) },
    unparkDestination: { inputType: 'UnparkDestinationInput', input: () => ({ id: destinationId, reason: `unparking ${destinationSecret}`.slice(0, 400) }) },
    rotateDestinationSecret: { inputType: 'RotateDestinationSecretInput', input: () => ({ id: destinationId, secret: destinationSecret }) },
    requestReplay: { inputType: 'RequestReplayInput', input: () => ({ eventId: randomUUID(), requestedBy: 'ops', reason: `replaying ${integrationSecret}` }) },
    retryDelivery: { inputType: 'RetryDeliveryInput', input: () => ({ deliveryId: randomUUID(), requestedBy: 'ops', reason: `retrying ${rotatedSecret}` }) },
    replayEvents: { inputType: 'ReplayEventsInput', input: () => ({ filter: { provider: 'hostile' }, requestedBy: 'ops', reason: `bulk ${integrationSecret}` }) },
    cancelReplay: { inputType: 'CancelReplayInput', input: () => ({ id: randomUUID(), reason: `cancelling ${integrationSecret}` }) },
  };

  function stringPaths(value: unknown, path: string[] = []): string[][] {
    if (typeof value === 'string') return [path];
    if (value === null || typeof value !== 'object') return [];
    return Object.entries(value).flatMap(([key, inner]) => stringPaths(inner, [...path, key]));
  }
  function withValue(input: Record<string, unknown>, path: string[], replacement: string): Record<string, unknown> {
    const copy = structuredClone(input);
    let target: Record<string, unknown> = copy;
    for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>;
    target[path.at(-1)!] = replacement;
    return copy;
  }

  it('covers every mutation in the schema', () => {
    const mutations = Object.keys(buildSchema().getMutationType()!.getFields()).sort();
    expect(mutations).toEqual(Object.keys(cases).sort());
  });

  it('answers a typed ValidationError for every hostile string in every field, leaking no secret', async () => {
    let sent = 0;
    for (const [mutation, { inputType, input }] of Object.entries(cases)) {
      const base = input();
      for (const path of stringPaths(base)) {
        // Ids and enums are checked by their own types before any rule of ours.
        if (path.at(-1) === 'id' || path.at(-1) === 'integrationId' || path.at(-1) === 'scheme') continue;
        for (const hostile of HOSTILE) {
          const response = await app.graphql<Record<string, { __typename: string; fieldErrors?: { path: string[] }[] }>>(
            `mutation ($input: ${inputType}!) { ${mutation}(input: $input) { __typename ... on ValidationError { message fieldErrors { path message } } } }`,
            { input: withValue(base, path, hostile) },
          );
          sent += 1;
          const text = JSON.stringify(response);
          expect(response.errors, `${mutation} ${path.join('.')}: ${text.slice(0, 300)}`).toBeUndefined();
          expect(response.data?.[mutation]?.__typename, `${mutation} ${path.join('.')} ${text.slice(0, 300)}`).toBe('ValidationError');
          expect(response.data![mutation]!.fieldErrors!.map((error) => error.path.join('.'))).toContain(['input', ...path].join('.'));
          for (const secret of secrets) expect(text.includes(secret), `${mutation} ${path.join('.')} echoed a secret`).toBe(false);
          expect(text.includes('\u0000')).toBe(false);
        }
      }
    }
    expect(sent).toBeGreaterThan(100);
    const log = lines.join('');
    for (const secret of secrets) expect(log.includes(secret)).toBe(false);
    expect(log).not.toMatch(/Failed query: (?!\[query and parameters withheld\])/);
  });

  it('logs a database error by SQLSTATE, constraint and operation, never its parameters', async () => {
    const sql = postgres(app.database.url, { max: 1 });
    const db = drizzle(sql);
    const written: string[] = [];
    const log = createLogger({ level: 'debug', write: (line) => void written.push(line) });
    const secret = `db-error-secret-${randomUUID()}`;
    try {
      await db.insert(integrations).values({ provider: 'nul\u0000', name: 'x', scheme: 'HMAC_SHA256', settings: {}, secret });
      throw new Error('the insert should have failed');
    } catch (error) {
      log.error({ err: error, message: (error as Error).message }, `insert failed: ${(error as Error).message}`);
    }
    try {
      await db.insert(integrations).values({ provider: 'hostile', name: 'x', scheme: 'HMAC_SHA256', settings: {}, secret });
      throw new Error('the insert should have failed');
    } catch (error) {
      log.error({ err: error }, 'duplicate');
      // yoga's masking path logs the GraphQLError that wraps the resolver's error.
      log.error({ args: [new GraphQLError((error as Error).message, { originalError: error as Error })] }, 'yoga');
    } finally {
      await sql.end();
    }
    const [nul, duplicate, masked] = written.map((line) => JSON.parse(line) as { err: Record<string, unknown>; msg: string });
    expect(written.join('')).not.toContain(secret);
    expect(nul!.err).toMatchObject({ name: 'DatabaseError', sqlState: '22021', operation: 'insert integrations' });
    expect((masked as unknown as { args: unknown[] }).args[0]).toMatchObject({ name: 'DatabaseError', sqlState: '23505' });
    expect(duplicate!.err).toMatchObject({ name: 'DatabaseError', sqlState: '23505', constraint: expect.stringContaining('provider'), operation: 'insert integrations' });
  });
});
