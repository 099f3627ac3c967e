import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import type { SchemeName } from '../ingress/schemes/index.js';
import { currentKeyring, SEALED_PREFIX } from '../secrets/secret-box.js';

/**
 * A secret column: sealed with AES-256-GCM on every write and opened on every read through
 * drizzle, so no query can store a secret in the clear by forgetting to (issue 12). Still `text`
 * in SQL: the migration is unchanged and raw SQL sees only ciphertext.
 */
const encryptedText = customType<{ data: string; driverData: string }>({
  dataType: () => 'text',
  toDriver: (value) => currentKeyring().seal(value),
  // A value stored before encryption reads as it is until the start-up step seals it.
  fromDriver: (value) => (value.startsWith(SEALED_PREFIX) ? currentKeyring().open(value) : value),
});

/**
 * The whole mission's schema. Lists are read newest first with keyset pagination, so every
 * listed table has an index ending in `(<time>, id)` for each filter the GraphQL API offers.
 */

const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  // postgres.js hands back a Buffer, PGlite a plain Uint8Array: callers always get a Buffer.
  fromDriver: (value) => (Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)),
});

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp('updated_at', { withTimezone: true }).notNull().defaultNow();

/**
 * The verification scheme or provider preset, as text since migration 0010: the registry in
 * src/ingress/schemes is the list (writes are validated against it), so adding a preset needs no
 * migration.
 */
export type VerificationSchemeName = SchemeName;

export const deliveryStatus = pgEnum('delivery_status', [
  'PENDING',
  'IN_FLIGHT',
  'RETRYING',
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
]);

/** Kept on the event by triggers on deliveries (migration 0007); see hookgate_event_status(). */
export const eventStatus = pgEnum('event_status', ['RECEIVED', 'DELIVERING', 'DELIVERED', 'FAILED']);

export const deliveryTrigger = pgEnum('delivery_trigger', ['DISPATCH', 'RETRY', 'REPLAY']);
export const processingStatus = pgEnum('processing_status', ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED']);

/** Scheme settings that are not secret; secrets live in their own columns. */
export type VerificationSettings = {
  header?: string;
  eventKeyPath?: string;
  eventTypePath?: string;
  toleranceSeconds?: number;
  /**
   * JSON path of the key that ordered destinations order by (e.g. `$.order_id`). Events sharing it
   * also share a Kafka partition, so their receipt order survives the trip. Default: the event key.
   */
  orderingKeyPath?: string;
  /**
   * The URL the provider calls, as configured at the provider (e.g.
   * `https://hooks.example.com/api/v1/webhooks/twilio`), for presets whose signature covers the URL
   * (Twilio, Square, HubSpot): behind proxies the request's own URL is not what was signed.
   */
  publicUrl?: string;
};

export const integrations = pgTable(
  'integrations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    provider: text('provider').notNull(),
    name: text('name').notNull(),
    scheme: text('scheme').$type<SchemeName>().notNull(),
    settings: jsonb('settings').$type<VerificationSettings>().notNull().default({}),
    secret: encryptedText('secret').notNull(),
    previousSecret: encryptedText('previous_secret'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
    secretRotatedAt: timestamp('secret_rotated_at', { withTimezone: true }),
    enabled: boolean('enabled').notNull().default(true),
    rateLimitPerMinute: integer('rate_limit_per_minute'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('integrations_provider_key').on(t.provider), index('integrations_created_idx').on(t.createdAt, t.id)],
);

export const destinations = pgTable(
  'destinations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    integrationId: uuid('integration_id')
      .notNull()
      .references(() => integrations.id),
    url: text('url').notNull(),
    secret: encryptedText('secret').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    disabledReason: text('disabled_reason'),
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
    ordered: boolean('ordered').notNull().default(false),
    /** Event-type filter: exact names and trailing wildcards (`order.*`); empty = every event. */
    eventTypes: text('event_types').array().notNull().default(sql`'{}'::text[]`),
    /** During a rotation the replaced secret signs too, until it expires. */
    previousSecret: encryptedText('previous_secret'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
    secretRotatedAt: timestamp('secret_rotated_at', { withTimezone: true }),
    /** Static headers: a sealed JSON array of {name, value}; write-only. */
    headers: encryptedText('headers'),
    maxPerSecond: integer('max_per_second'),
    maxConcurrency: integer('max_concurrency'),
    /** A receiver's Retry-After pauses the destination for every worker. */
    pausedUntil: timestamp('paused_until', { withTimezone: true }),
    parkAfterFailures: integer('park_after_failures').notNull().default(10),
    parkFailureRatio: real('park_failure_ratio').notNull().default(0.9),
    parkWindowSeconds: integer('park_window_seconds').notNull().default(300),
    disableAfterParkedSeconds: integer('disable_after_parked_seconds').notNull().default(432_000),
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
    windowStartedAt: timestamp('window_started_at', { withTimezone: true }),
    windowAttempts: integer('window_attempts').notNull().default(0),
    windowFailures: integer('window_failures').notNull().default(0),
    parkedAt: timestamp('parked_at', { withTimezone: true }),
    parkedReason: text('parked_reason'),
    probeCount: integer('probe_count').notNull().default(0),
    nextProbeAt: timestamp('next_probe_at', { withTimezone: true }),
    unparkedAt: timestamp('unparked_at', { withTimezone: true }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('destinations_integration_idx').on(t.integrationId, t.createdAt),
    index('destinations_parked_idx').on(t.nextProbeAt).where(sql`${t.parkedAt} is not null`),
  ],
);

export const events = pgTable(
  'events',
  {
    /** UUIDv5 of `integrationId:eventKey`: the same webhook always gets the same id. */
    id: uuid('id').primaryKey(),
    integrationId: uuid('integration_id')
      .notNull()
      .references(() => integrations.id),
    provider: text('provider').notNull(),
    eventKey: text('event_key').notNull(),
    eventType: text('event_type'),
    orderingKey: text('ordering_key'),
    rawBody: bytea('raw_body').notNull(),
    headers: jsonb('headers').$type<Record<string, string>>().notNull().default({}),
    /** The body as jsonb, for queries; null when jsonb cannot hold it (raw_body is the record). */
    payload: jsonb('payload'),
    sourceIp: text('source_ip'),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull(),
    kafkaPartition: integer('kafka_partition'),
    kafkaOffset: bigint('kafka_offset', { mode: 'bigint' }),
    persistedAt: timestamp('persisted_at', { withTimezone: true }).notNull().defaultNow(),
    /** Set when retention purged the body (raw body emptied, payload null, headers {}). */
    bodyPurgedAt: timestamp('body_purged_at', { withTimezone: true }),
    /** Maintained by the database from the event's deliveries; never written by the application. */
    status: eventStatus('status').notNull().default('RECEIVED'),
  },
  (t) => [
    index('events_body_unpurged_idx').on(t.receivedAt).where(sql`${t.bodyPurgedAt} IS NULL`),
    uniqueIndex('events_integration_event_key_key').on(t.integrationId, t.eventKey),
    index('events_received_idx').on(t.receivedAt, t.id),
    index('events_integration_received_idx').on(t.integrationId, t.receivedAt, t.id),
    index('events_type_received_idx').on(t.eventType, t.receivedAt, t.id),
    // Prefix search (LIKE 'abc%') in any collation; serves equality too.
    index('events_key_pattern_idx').using('btree', t.eventKey.op('text_pattern_ops')),
    // payloadContains: jsonb containment.
    index('events_payload_idx').using('gin', t.payload.op('jsonb_path_ops')),
    index('events_status_received_idx').on(t.status, t.receivedAt, t.id),
  ],
);

export const replayRequests = pgTable(
  'replay_requests',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    eventId: uuid('event_id').references(() => events.id),
    destinationId: uuid('destination_id').references(() => destinations.id),
    filter: jsonb('filter').$type<Record<string, unknown>>(),
    /** Bulk replays resume after the last event they covered: [receivedAt, id]. */
    cursor: jsonb('cursor').$type<[string, string]>(),
    requestedBy: text('requested_by').notNull(),
    reason: text('reason').notNull(),
    status: processingStatus('status').notNull().default('PENDING'),
    total: integer('total').notNull().default(0),
    processed: integer('processed').notNull().default(0),
    error: text('error'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (t) => [
    index('replay_requests_created_idx').on(t.createdAt, t.id),
    index('replay_requests_status_idx').on(t.status, t.createdAt, t.id),
    index('replay_requests_event_idx').on(t.eventId),
  ],
);

/**
 * The events a bulk replay covers, fixed when it was requested; the runner deletes each chunk as it
 * replays it. No foreign key to events (retention may remove one first).
 */
export const replayRequestEvents = pgTable(
  'replay_request_events',
  {
    replayRequestId: uuid('replay_request_id')
      .notNull()
      .references(() => replayRequests.id, { onDelete: 'cascade' }),
    eventId: uuid('event_id').notNull(),
  },
  (t) => [primaryKey({ name: 'replay_request_events_pkey', columns: [t.replayRequestId, t.eventId] })],
);

export const deliveries = pgTable(
  'deliveries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Insertion order; ordered destinations deliver a key's deliveries in this order. */
    sequence: bigint('sequence', { mode: 'number' }).generatedAlwaysAsIdentity(),
    eventId: uuid('event_id')
      .notNull()
      .references(() => events.id),
    destinationId: uuid('destination_id')
      .notNull()
      .references(() => destinations.id),
    /** Copied from the event so list filters need no join. */
    integrationId: uuid('integration_id')
      .notNull()
      .references(() => integrations.id),
    status: deliveryStatus('status').notNull().default('PENDING'),
    trigger: deliveryTrigger('trigger').notNull().default('DISPATCH'),
    replayRequestId: uuid('replay_request_id').references(() => replayRequests.id),
    /** Set only for ordered destinations: deliveries sharing it go one at a time. */
    orderingKey: text('ordering_key'),
    attemptCount: integer('attempt_count').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: timestamp('lease_expires_at', { withTimezone: true }),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (t) => [
    // The persist step may run twice for one event; only one dispatch per destination may exist.
    uniqueIndex('deliveries_dispatch_once_key')
      .on(t.eventId, t.destinationId)
      .where(sql`${t.trigger} = 'DISPATCH'`),
    // Claim query: due work only, so the index stays small however much history accumulates.
    index('deliveries_due_idx')
      .on(t.nextAttemptAt)
      .where(sql`${t.status} in ('PENDING', 'RETRYING', 'IN_FLIGHT')`),
    index('deliveries_ordering_idx')
      .on(t.destinationId, t.orderingKey, t.sequence)
      .where(sql`${t.orderingKey} is not null and ${t.status} in ('PENDING', 'RETRYING', 'IN_FLIGHT')`),
    index('deliveries_created_idx').on(t.createdAt, t.id),
    index('deliveries_event_idx').on(t.eventId, t.createdAt),
    index('deliveries_status_created_idx').on(t.status, t.createdAt, t.id),
    index('deliveries_integration_created_idx').on(t.integrationId, t.createdAt, t.id),
    index('deliveries_destination_created_idx').on(t.destinationId, t.createdAt, t.id),
    // ReplayRequest.deliveries (issue 13).
    index('deliveries_replay_request_idx')
      .on(t.replayRequestId, t.sequence)
      .where(sql`${t.replayRequestId} is not null`),
  ],
);

/** Append-only: a trigger refuses UPDATE and DELETE (see the custom migration). */
export const deliveryAttempts = pgTable(
  'delivery_attempts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    deliveryId: uuid('delivery_id')
      .notNull()
      .references(() => deliveries.id),
    attemptNumber: integer('attempt_number').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    durationMs: integer('duration_ms').notNull(),
    statusCode: integer('status_code'),
    errorClass: text('error_class'),
    errorMessage: text('error_message'),
    responseBody: text('response_body'),
    requestHeaders: jsonb('request_headers').$type<Record<string, string>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('delivery_attempts_number_key').on(t.deliveryId, t.attemptNumber)],
);

/** Append-only: a trigger refuses UPDATE and DELETE (see the custom migration). */
export const auditEntries = pgTable(
  'audit_entries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id'),
    requestId: text('request_id'),
    sourceIp: text('source_ip'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [
    index('audit_entries_at_idx').on(t.at, t.id),
    index('audit_entries_action_at_idx').on(t.action, t.at, t.id),
    index('audit_entries_actor_at_idx').on(t.actor, t.at, t.id),
    index('audit_entries_target_at_idx').on(t.targetType, t.targetId, t.at, t.id),
  ],
);

export type Integration = typeof integrations.$inferSelect;
export type Destination = typeof destinations.$inferSelect;
export type EventRow = typeof events.$inferSelect;
export type NewEvent = typeof events.$inferInsert;
export type Delivery = typeof deliveries.$inferSelect;
export type AuditEntry = typeof auditEntries.$inferSelect;
