import { jsonArgument, oneOf, timestamp } from '../output.js';

/** The `events` query's filter as flags, shared by `events list` and `replay bulk` so both select the same events. */
export const EVENT_STATUSES = ['RECEIVED', 'DELIVERING', 'DELIVERED', 'FAILED'] as const;

export const eventFilterOptions = {
  provider: { type: 'string' },
  integration: { type: 'string' },
  status: { type: 'string' },
  type: { type: 'string' },
  key: { type: 'string' },
  'key-prefix': { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  contains: { type: 'string' },
} as const;

export const EVENT_FILTER_USAGE = `      --provider P         events of this provider
      --integration ID     events of this integration
      --status S           ${EVENT_STATUSES.join(', ')}
      --type T             event type
      --key K              exact event key
      --key-prefix P       event keys starting with P
      --since TIME         received at or after (ISO-8601)
      --until TIME         received before (ISO-8601)
      --contains JSON      payload contains this JSON, e.g. '{"customer":{"id":"cus_123"}}'`;

type FilterValues = { [K in keyof typeof eventFilterOptions]?: string | boolean | (string | boolean)[] | undefined };

export function eventFilter(values: FilterValues, command: string): Record<string, unknown> {
  const text = (name: keyof typeof eventFilterOptions) => values[name] as string | undefined;
  const filter: Record<string, unknown> = {
    provider: text('provider'),
    integrationId: text('integration'),
    status: oneOf(text('status'), EVENT_STATUSES, '--status', command),
    eventType: text('type'),
    eventKey: text('key'),
    eventKeyPrefix: text('key-prefix'),
    receivedAfter: timestamp(text('since'), '--since', command),
    receivedBefore: timestamp(text('until'), '--until', command),
    payloadContains: jsonArgument(text('contains'), '--contains', command),
  };
  for (const key of Object.keys(filter)) if (filter[key] === undefined) delete filter[key];
  return filter;
}
