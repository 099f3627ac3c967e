import { ERROR_FIELDS, gql } from '../api.js';
import { h, outcome, pretty, replace, time, whoAndWhy } from '../dom.js';
import type { Screen } from '../main.js';
import type { EventRow } from './events.js';

interface Attempt {
  attemptNumber: number;
  at: string;
  durationMs: number;
  statusCode: number | null;
  errorClass: string | null;
  error: string | null;
  responseBody: string | null;
}
interface Delivery {
  id: string;
  status: string;
  trigger: string;
  attemptCount: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  destination: { id: string; url: string };
  attempts: Attempt[];
}
interface EventDetail extends EventRow {
  persistedAt: string;
  sourceIp: string | null;
  headers: unknown;
  payload: unknown;
  rawBody: string;
  deliveries: Delivery[];
  auditEntries: { at: string; actor: string; action: string; details: unknown }[];
}

const EVENT = `query ($id: ID!) { event(id: $id) {
  id provider eventType eventKey status receivedAt persistedAt sourceIp headers payload rawBody
  deliveries { id status trigger attemptCount lastError nextAttemptAt createdAt destination { id url }
    attempts { attemptNumber at durationMs statusCode errorClass error responseBody } }
  auditEntries { at actor action details } } }`;

/** One event: headers, payload, raw body, every delivery with its attempts, the audit trail, and its actions. */
export async function renderEventPage(screen: Screen, id: string): Promise<void> {
  const { event } = await gql<{ event: EventDetail | null }>(EVENT, { id });
  if (!event) return replace(screen.main, h('h2', {}, 'Event not found'), h('p', {}, id));
  const destinations = new Map(event.deliveries.map((delivery) => [delivery.destination.id, delivery.destination.url]));
  const people = whoAndWhy();
  const result = h('div', { 'data-testid': 'event-action-result' });
  const reload = () => setTimeout(() => void renderEventPage(screen, id).catch(() => undefined), 1500);

  const target = h('select', { 'data-testid': 'replay-destination' }, h('option', { value: '' }, 'all destinations'), ...[...destinations].map(([value, url]) => h('option', { value }, url)));
  const replay = async () => {
    const input = { eventId: id, ...people.values(), ...(target.value ? { destinationId: target.value } : {}) };
    const { requestReplay } = await gql<{ requestReplay: { __typename: string; deliveries?: unknown[] } }>(
      `mutation ($input: RequestReplayInput!) { requestReplay(input: $input) { __typename ... on RequestReplayPayload { deliveries { id } } ${ERROR_FIELDS} } }`,
      { input },
    );
    if (outcome(result, requestReplay, `Replay requested: ${requestReplay.deliveries?.length ?? 0} new deliveries.`)) reload();
  };
  const retry = async (deliveryId: string) => {
    const { retryDelivery } = await gql<{ retryDelivery: { __typename: string } }>(
      `mutation ($input: RetryDeliveryInput!) { retryDelivery(input: $input) { __typename ${ERROR_FIELDS} } }`,
      { input: { deliveryId, ...people.values() } },
    );
    if (outcome(result, retryDelivery, 'Retry scheduled: one more attempt.')) reload();
  };
  const guard = (action: () => Promise<void>) => () => void action().catch((error: unknown) => replace(result, h('div', { class: 'error' }, (error as Error).message)));

  const actions = screen.viewer.readOnly
    ? h('p', { class: 'muted', 'data-testid': 'read-only-note' }, 'This key is read-only: replay and retry are not offered.')
    : h('section', { class: 'panel' }, h('h3', {}, 'Actions'), people.element, h('div', { class: 'toolbar' }, target, h('button', { 'data-testid': 'replay', onclick: guard(replay) }, 'Replay')), result);

  replace(
    screen.main,
    h('h2', {}, `${event.provider} · ${event.eventType ?? 'untyped'} · `, h('span', { 'data-testid': 'event-status', class: `status-${event.status}` }, event.status)),
    h(
      'dl',
      { class: 'facts' },
      ...[
        ['Event id', event.id],
        ['Event key', event.eventKey],
        ['Received', time(event.receivedAt)],
        ['Stored', time(event.persistedAt)],
        ['Source', event.sourceIp ?? '—'],
      ].flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]),
    ),
    actions,
    h('h3', {}, 'Deliveries'),
    h(
      'div',
      { 'data-testid': 'deliveries' },
      event.deliveries.length === 0 ? h('p', { class: 'muted' }, 'No destination: nothing to deliver.') : null,
      event.deliveries.map((delivery) =>
        h(
          'div',
          { class: `delivery status-${delivery.status}`, 'data-testid': 'delivery' },
          h(
            'div',
            { class: 'toolbar' },
            h('b', { 'data-testid': 'delivery-status' }, delivery.status),
            h('span', {}, `${delivery.trigger} → ${delivery.destination.url}`),
            h('span', { class: 'muted' }, `${delivery.attemptCount} attempt(s), created ${time(delivery.createdAt)}`),
            delivery.nextAttemptAt && ['PENDING', 'RETRYING'].includes(delivery.status) ? h('span', { class: 'muted' }, `next ${time(delivery.nextAttemptAt)}`) : null,
            delivery.status === 'FAILED' && !screen.viewer.readOnly ? h('button', { 'data-testid': 'retry', onclick: guard(() => retry(delivery.id)) }, 'Retry') : null,
          ),
          h(
            'ol',
            { class: 'timeline' },
            delivery.attempts.map((attempt) =>
              h(
                'li',
                {},
                h('b', {}, `#${attempt.attemptNumber} `),
                `${time(attempt.at)} · ${attempt.statusCode ?? attempt.errorClass ?? 'error'} · ${attempt.durationMs} ms`,
                attempt.error ? h('div', { class: 'error' }, attempt.error) : null,
                attempt.responseBody ? h('pre', { class: 'excerpt' }, attempt.responseBody.slice(0, 500)) : null,
              ),
            ),
          ),
        ),
      ),
    ),
    h('h3', {}, 'Payload'),
    h('pre', { 'data-testid': 'payload' }, pretty(event.payload)),
    h('details', {}, h('summary', {}, 'Headers'), h('pre', {}, pretty(event.headers))),
    h('details', {}, h('summary', {}, 'Raw body'), h('pre', {}, event.rawBody)),
    h('h3', {}, 'Audit trail'),
    h(
      'table',
      { 'data-testid': 'audit' },
      h('thead', {}, h('tr', {}, h('th', {}, 'at'), h('th', {}, 'actor'), h('th', {}, 'action'), h('th', {}, 'details'))),
      h('tbody', {}, event.auditEntries.map((entry) => h('tr', {}, h('td', {}, time(entry.at)), h('td', {}, entry.actor), h('td', {}, entry.action), h('td', {}, h('code', {}, JSON.stringify(entry.details)))))),
    ),
  );
}
