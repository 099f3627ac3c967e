import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { migrateDatabase } from '../../src/db/client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { describeWithServices, services } from '../helpers/services.js';

const firstRow = <T>(rows: readonly T[]): T => rows[0]!;

describeWithServices('migrations (real Postgres)', ['postgres'], () => {
  let database: TestDatabase;
  let sql: postgres.Sql;

  beforeAll(async () => {
    database = await createTestDatabase(services.testDatabaseUrl!, { empty: true });
    sql = postgres(database.url, { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    await sql?.end();
    await database?.drop();
  });

  it('apply to an empty database, and again as a no-op', async () => {
    await migrateDatabase(database.url);
    await migrateDatabase(database.url);
    const tables = await sql<{ table_name: string }[]>`
      select table_name from information_schema.tables where table_schema = 'public' order by table_name`;
    expect(tables.map((row) => row.table_name)).toEqual([
      'audit_entries',
      'deliveries',
      'delivery_attempts',
      'destinations',
      'events',
      'integrations',
      'replay_request_events',
      'replay_requests',
    ]);
    const [migrations] = await sql<{ count: number }[]>`select count(*)::int as count from drizzle.__drizzle_migrations`;
    const journal = JSON.parse(readFileSync(new URL('../../drizzle/meta/_journal.json', import.meta.url), 'utf8')) as { entries: unknown[] };
    expect(migrations!.count).toBe(journal.entries.length);
  });

  it('enforce one event per (integration, event key)', async () => {
    const [integration] = await sql<{ id: string }[]>`
      insert into integrations (provider, name, scheme, secret) values ('acme', 'Acme', 'HMAC_SHA256', 's') returning id`;
    const insert = (id: string) => sql`
      insert into events (id, integration_id, provider, event_key, raw_body, payload, received_at)
      values (${id}, ${integration!.id}, 'acme', 'evt_1', ${Buffer.from('{}')}, '{}', now())`;
    await insert('00000000-0000-5000-8000-000000000001');
    await expect(insert('00000000-0000-5000-8000-000000000002')).rejects.toThrow(/events_integration_event_key_key/);
  });

  it('make audit entries refuse UPDATE and DELETE', async () => {
    const [entry] = await sql<{ id: string }[]>`
      insert into audit_entries (actor, action, target_type) values ('test', 'test.done', 'test') returning id`;
    await expect(sql`update audit_entries set actor = 'someone else' where id = ${entry!.id}`).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_entries where id = ${entry!.id}`).rejects.toThrow(/append-only/);
    const [row] = await sql<{ actor: string }[]>`select actor from audit_entries where id = ${entry!.id}`;
    expect(row!.actor).toBe('test');
  });

  it('make delivery attempts refuse UPDATE and DELETE', async () => {
    const { id: integrationId } = firstRow(await sql<{ id: string }[]>`
      insert into integrations (provider, name, scheme, secret) values ('globex', 'Globex', 'SHARED_TOKEN', 's') returning id`);
    const { id: destinationId } = firstRow(await sql<{ id: string }[]>`
      insert into destinations (integration_id, url, secret) values (${integrationId}, 'https://example.com/hook', 'whsec_x') returning id`);
    const eventId = '00000000-0000-5000-8000-0000000000aa';
    await sql`insert into events (id, integration_id, provider, event_key, raw_body, payload, received_at)
      values (${eventId}, ${integrationId}, 'globex', 'k', ${Buffer.from('{}')}, '{}', now())`;
    const { id: deliveryId } = firstRow(await sql<{ id: string }[]>`
      insert into deliveries (event_id, destination_id, integration_id) values (${eventId}, ${destinationId}, ${integrationId}) returning id`);
    const [attempt] = await sql<{ id: string }[]>`
      insert into delivery_attempts (delivery_id, attempt_number, started_at, duration_ms, status_code)
      values (${deliveryId}, 1, now(), 12, 200) returning id`;
    await expect(sql`update delivery_attempts set status_code = 500 where id = ${attempt!.id}`).rejects.toThrow(/append-only/);
    await expect(sql`delete from delivery_attempts where id = ${attempt!.id}`).rejects.toThrow(/append-only/);
  });
});
