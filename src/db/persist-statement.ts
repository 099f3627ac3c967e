import type { PGlite } from '@electric-sql/pglite';
import type postgres from 'postgres';
import type { Database } from './client.js';

/**
 * The persist step's one statement (DESIGN.md §2, STYLE.md §13): fixed text, one array per column,
 * one round trip per batch, and its own implicit transaction. It inserts the events (ON CONFLICT
 * DO NOTHING on the unique key) and, only for the rows it actually inserted, their
 * `event.received` audit entry — the event's processing record — and one pending delivery per
 * enabled destination of the event's integration whose event-type filter matches. Deliveries get their `sequence` in batch order
 * (the `ordinal` sort) and, for ordered destinations, the event's ordering key (else its event
 * key), as `deliveryRowsFor` builds them for replays.
 *
 * The body crosses the wire once, as bytea: `payload` is made from it here when the caller says
 * jsonb can hold it (`jsonb_ok`), and is null otherwise. A body that is not JSON (a form post)
 * comes with its JSON view as `payload_json` instead (issue 16).
 * Only columns the deliveries table has had since 0000 are written: the rest take their defaults.
 */
export const PERSIST_STATEMENT = `
with input as (
  select *
  from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[],
              $8::text[], $9::bool[], $10::text[], $11::timestamptz[], $12::int[], $13::bigint[], $14::text[])
       with ordinality as t(id, integration_id, provider, event_key, event_type, ordering_key, raw_body,
                            headers, jsonb_ok, source_ip, received_at, kafka_partition, kafka_offset,
                            payload_json, ordinal)
),
stored as (
  insert into events (id, integration_id, provider, event_key, event_type, ordering_key, raw_body, headers,
                      payload, source_ip, received_at, kafka_partition, kafka_offset)
  select id, integration_id, provider, event_key, event_type, ordering_key, raw_body, headers::jsonb,
         case when jsonb_ok then coalesce(payload_json::jsonb, convert_from(raw_body, 'UTF8')::jsonb) end, source_ip, received_at,
         kafka_partition, kafka_offset
  from input
  order by ordinal
  on conflict do nothing
  returning id
),
fresh as (
  select input.* from input join stored using (id)
),
audited as (
  insert into audit_entries (actor, action, target_type, target_id, source_ip, details)
  select 'system:persist', 'event.received', 'event', id::text, source_ip,
         jsonb_build_object('provider', provider, 'eventKey', event_key, 'partition', kafka_partition,
                            'offset', kafka_offset::text)
  from fresh
  order by ordinal
  returning 1
),
dispatched as (
  insert into deliveries (event_id, destination_id, integration_id, ordering_key, next_attempt_at)
  select fresh.id, destinations.id, fresh.integration_id,
         case when destinations.ordered then coalesce(fresh.ordering_key, fresh.event_key) end,
         -- A parked destination's new deliveries wait outside the due range until it unparks.
         case when destinations.parked_at is not null then 'infinity'::timestamptz else now() end
  from fresh
  join destinations on destinations.integration_id = fresh.integration_id and destinations.enabled
   -- The destination's event-type filter (event-type-filter.ts): empty, exact, or trailing wildcard.
   and (cardinality(destinations.event_types) = 0 or exists (
     select 1 from unnest(destinations.event_types) as p(pattern)
     where p.pattern = fresh.event_type
        or p.pattern = '*'
        or (right(p.pattern, 1) = '*' and starts_with(fresh.event_type, left(p.pattern, -1)))))
  order by fresh.ordinal, destinations.created_at, destinations.id
  on conflict do nothing
  returning 1
)
select stored.id::text as id,
       (select count(*) from audited)::int as audited,
       (select count(*) from dispatched)::int as dispatched
from stored
`;

/** One column array per parameter of PERSIST_STATEMENT, in its order. */
export interface PersistColumns {
  id: string[];
  integrationId: string[];
  provider: string[];
  eventKey: string[];
  eventType: (string | null)[];
  orderingKey: (string | null)[];
  rawBody: Buffer[];
  /** JSON text of the stored request headers. */
  headers: string[];
  /** Whether jsonb can hold the body (valid UTF-8, no escaped NUL, no lone surrogate, not too deep). */
  jsonbOk: boolean[];
  sourceIp: (string | null)[];
  receivedAt: Date[];
  kafkaPartition: number[];
  kafkaOffset: string[];
  /** The JSON view of a body that is not itself JSON (a form's fields), else null. */
  payloadJson: (string | null)[];
}

export interface PersistStatementResult {
  /** Ids of the events this statement inserted (the others were already stored). */
  inserted: string[];
  deliveriesCreated: number;
}

type Row = { id: string; audited: number; dispatched: number };

function parametersOf(columns: PersistColumns): unknown[] {
  return [
    columns.id,
    columns.integrationId,
    columns.provider,
    columns.eventKey,
    columns.eventType,
    columns.orderingKey,
    columns.rawBody,
    columns.headers,
    columns.jsonbOk,
    columns.sourceIp,
    columns.receivedAt.map((at) => at.toISOString()),
    columns.kafkaPartition,
    columns.kafkaOffset,
    columns.payloadJson,
  ];
}

function byteaArrayLiteral(values: Buffer[]): string {
  // Inside a quoted array element a backslash is doubled: "\\x…" reaches bytea as \x….
  return `{${values.map((value) => `"\\\\x${value.toString('hex')}"`).join(',')}}`;
}

function isPglite(client: unknown): client is PGlite {
  return typeof client === 'object' && client !== null && 'query' in client && 'exec' in client;
}

/**
 * Runs the statement on whichever driver backs `db`: postgres.js (`unsafe` with constant text and
 * array parameters, prepared once per connection) or PGlite (`query` with the same parameters).
 */
export async function runPersistStatement(db: Database, columns: PersistColumns): Promise<PersistStatementResult> {
  const client = (db as unknown as { $client: unknown }).$client;
  const parameters = parametersOf(columns);
  let rows: Row[];
  if (isPglite(client)) {
    rows = (await client.query<Row>(PERSIST_STATEMENT, parameters)).rows;
  } else {
    const sql = client as postgres.Sql;
    // The bytea[] literal is written here: postgres.js knows bytea[] only once a connection has
    // fetched the array types (a first statement would send plain bytea), and hex straight from
    // Buffer#toString is cheaper than its generic array escaping.
    parameters[6] = byteaArrayLiteral(columns.rawBody);
    // Likewise booleans: postgres.js would type an array of them as one bool.
    parameters[8] = `{${columns.jsonbOk.map((ok) => (ok ? 't' : 'f')).join(',')}}`;
    // drizzle hands timestamptz[] through unserialised (it keeps its own date handling): send the
    // array literal itself. ISO timestamps hold nothing an array literal would need to quote.
    parameters[10] = `{${columns.receivedAt.map((at) => at.toISOString()).join(',')}}`;
    rows = (await sql.unsafe<Row[]>(PERSIST_STATEMENT, parameters as postgres.ParameterOrJSON<never>[], { prepare: true })) as Row[];
  }
  return { inserted: rows.map((row) => row.id), deliveriesCreated: rows[0]?.dispatched ?? 0 };
}
