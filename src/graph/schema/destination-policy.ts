import { z } from 'zod';
import { EVENT_TYPE_PATTERN } from '../../consumers/event-type-filter.js';
import { builder } from '../builder.js';

/**
 * Destination policies as GraphQL input (issue 14): the event-type filter, static headers and the
 * throttling and parking settings, shared by the create, add and update inputs.
 */
export const HeaderInput = builder.inputType('HeaderInput', {
  description: 'A static header sent with every delivery to a destination. Write-only: values are never shown.',
  fields: (t) => ({ name: t.string({ required: true }), value: t.string({ required: true }) }),
});

type BuilderTypes = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer Types> ? Types : never;
type InputFields = PothosSchemaTypes.InputFieldBuilder<BuilderTypes, 'InputObject'>;

/** The policy fields every destination input carries (none required: each has a default). */
export function policyInputFields(t: InputFields) {
  return {
    eventTypes: t.stringList({ description: 'Event types delivered: exact names or trailing wildcards ("order.*"); empty = all' }),
    headers: t.field({ type: [HeaderInput], description: 'Static headers (write-only); replaces the whole set on update' }),
    maxPerSecond: t.int({ description: 'At most this many POSTs per second, across every worker' }),
    maxConcurrency: t.int({ description: 'At most this many POSTs at once, across every worker; adaptive below it' }),
    parkAfterFailures: t.int({ description: 'Park after this many consecutive failed attempts (default 10)' }),
    parkFailureRatio: t.float({ description: 'Or when this share of attempts in the window failed (default 0.9, at least 20 attempts)' }),
    parkWindowSeconds: t.int({ description: 'The failure-ratio window (default 300)' }),
    disableAfterParkedSeconds: t.int({ description: 'Disable a destination parked this long (default 432000 = 5 days)' }),
  };
}

/**
 * Headers a destination may not set: ours (a receiver must be able to trust them) and those the
 * transport owns.
 */
const RESERVED_HEADER = /^(webhook-.*|x-hookgate-.*|host|content-length|content-type|transfer-encoding|connection|x-request-id|user-agent)$/i;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;

const headerSchema = z.object({
  name: z
    .string()
    .regex(HEADER_NAME, 'must be an HTTP header name')
    .refine((name) => !RESERVED_HEADER.test(name), 'is reserved: webhook-*, x-hookgate-*, host, content-length and transport headers cannot be set'),
  // Never echoed: messages about a value say what is wrong, not what it was.
  value: z
    .string()
    .max(4096, 'must be at most 4096 characters')
    .refine((value) => !value.includes('\r') && !value.includes('\n') && !value.includes('\u0000'), 'must not contain CR, LF or NUL'),
});

export const policySchema = z.object({
  eventTypes: z
    .array(z.string().trim().regex(EVENT_TYPE_PATTERN, 'must be an event type, a prefix ending in "*", or "*"'))
    .max(100)
    .nullish(),
  headers: z
    .array(headerSchema)
    .max(20)
    .refine((headers) => new Set(headers.map((header) => header.name.toLowerCase())).size === headers.length, 'header names must be distinct')
    .nullish(),
  maxPerSecond: z.number().int().min(1).max(100_000).nullish(),
  maxConcurrency: z.number().int().min(1).max(1_000).nullish(),
  parkAfterFailures: z.number().int().min(1).max(100_000).nullish(),
  parkFailureRatio: z.number().gt(0).max(1).nullish(),
  parkWindowSeconds: z.number().int().min(10).max(86_400).nullish(),
  disableAfterParkedSeconds: z.number().int().min(60).max(90 * 86_400).nullish(),
});

export type PolicyInput = z.infer<typeof policySchema>;

/** The columns an input sets; absent fields keep their value (or the column default). */
export function policyColumns(input: PolicyInput) {
  return {
    ...(input.eventTypes != null ? { eventTypes: [...new Set(input.eventTypes)] } : {}),
    ...(input.headers != null ? { headers: input.headers.length === 0 ? null : JSON.stringify(input.headers) } : {}),
    ...(input.maxPerSecond !== undefined ? { maxPerSecond: input.maxPerSecond } : {}),
    ...(input.maxConcurrency !== undefined ? { maxConcurrency: input.maxConcurrency } : {}),
    ...(input.parkAfterFailures != null ? { parkAfterFailures: input.parkAfterFailures } : {}),
    ...(input.parkFailureRatio != null ? { parkFailureRatio: input.parkFailureRatio } : {}),
    ...(input.parkWindowSeconds != null ? { parkWindowSeconds: input.parkWindowSeconds } : {}),
    ...(input.disableAfterParkedSeconds != null ? { disableAfterParkedSeconds: input.disableAfterParkedSeconds } : {}),
  };
}

/** What an audit entry may say about a policy change: names of headers, never their values. */
export function policyAuditDetails(input: PolicyInput): Record<string, unknown> {
  const { headers, ...rest } = input;
  return {
    ...Object.fromEntries(Object.entries(rest).filter(([, value]) => value != null)),
    ...(headers != null ? { headerNames: headers.map((header) => header.name) } : {}),
  };
}

/** The names of a destination's static headers (stored sealed as JSON). */
export function headerNamesOf(sealedJson: string | null): string[] {
  if (!sealedJson) return [];
  return (JSON.parse(sealedJson) as { name: string }[]).map((header) => header.name);
}
