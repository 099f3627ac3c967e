import { ERROR_FIELDS, gql } from '../api.js';
import { field, h, outcome, replace, time, whoAndWhy } from '../dom.js';
import type { Screen } from '../main.js';

export interface EventRow {
  id: string;
  provider: string;
  eventType: string | null;
  eventKey: string;
  status: string;
  receivedAt: string;
}
interface Page {
  events: { edges: { cursor: string; node: EventRow }[]; pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null } };
}

const EVENTS = `query ($filter: EventFilter, $first: Int, $after: String, $last: Int, $before: String) {
  events(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id provider eventType eventKey status receivedAt } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
const PAGE = 25;

/** The explorer: filters, keyset paging, and bulk replay of the current filter (dry run first). */
export async function renderEvents(screen: Screen): Promise<void> {
  const inputs = {
    provider: h('input', { name: 'provider', placeholder: 'stripe' }),
    eventType: h('input', { name: 'eventType', placeholder: 'invoice.paid' }),
    status: h('select', { name: 'status' }, ...['', 'RECEIVED', 'DELIVERING', 'DELIVERED', 'FAILED'].map((value) => h('option', { value }, value || 'any'))),
    receivedAfter: h('input', { name: 'receivedAfter', type: 'datetime-local' }),
    receivedBefore: h('input', { name: 'receivedBefore', type: 'datetime-local' }),
    eventKey: h('input', { name: 'eventKey', placeholder: 'exact key, or prefix*' }),
    payloadContains: h('textarea', { name: 'payloadContains', 'data-testid': 'payload-contains', rows: 2, placeholder: '{"customer": {"id": "cus_123"}}' }),
  };
  const rows = h('tbody', { 'data-testid': 'event-rows' });
  const pager = h('div', { class: 'toolbar' });
  const message = h('div');

  /** The filter as the API takes it; throws on JSON the operator mistyped. */
  function filter(): Record<string, unknown> {
    const value: Record<string, unknown> = {};
    for (const name of ['provider', 'eventType', 'status'] as const) if (inputs[name].value.trim()) value[name] = inputs[name].value.trim();
    const key = inputs.eventKey.value.trim();
    if (key.endsWith('*')) value.eventKeyPrefix = key.slice(0, -1);
    else if (key) value.eventKey = key;
    for (const name of ['receivedAfter', 'receivedBefore'] as const) if (inputs[name].value) value[name] = new Date(inputs[name].value).toISOString();
    if (inputs.payloadContains.value.trim()) {
      try {
        value.payloadContains = JSON.parse(inputs.payloadContains.value);
      } catch {
        throw new Error('payload containment must be JSON, e.g. {"customer": {"id": "cus_123"}}');
      }
    }
    return value;
  }

  async function load(page: { first?: number; after?: string | null; last?: number; before?: string | null } = { first: PAGE }): Promise<void> {
    let data: Page;
    try {
      data = await gql<Page>(EVENTS, { filter: filter(), ...page });
    } catch (error) {
      return replace(message, h('div', { class: 'error', 'data-testid': 'filter-error' }, (error as Error).message));
    }
    replace(message);
    replace(
      rows,
      data.events.edges.map(({ node }) =>
        h(
          'tr',
          { class: `status-${node.status}` },
          h('td', {}, time(node.receivedAt)),
          h('td', {}, node.provider),
          h('td', {}, node.eventType ?? '—'),
          h('td', {}, h('a', { href: `#/events/${node.id}`, 'data-testid': 'event-link' }, node.eventKey)),
          h('td', {}, node.status),
        ),
      ),
      data.events.edges.length === 0 ? h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No event matches.')) : null,
    );
    const info = data.events.pageInfo;
    replace(
      pager,
      h('button', { disabled: !info.hasPreviousPage, onclick: () => void load({ last: PAGE, before: info.startCursor }) }, '← Newer'),
      h('button', { disabled: !info.hasNextPage, 'data-testid': 'next-page', onclick: () => void load({ first: PAGE, after: info.endCursor }) }, 'Older →'),
    );
  }

  const form = h(
    'form',
    { class: 'filters', onsubmit: (event: Event) => (event.preventDefault(), void load()) },
    field('Provider', inputs.provider),
    field('Type', inputs.eventType),
    field('Status', inputs.status),
    field('Received after', inputs.receivedAfter),
    field('Received before', inputs.receivedBefore),
    field('Event key', inputs.eventKey),
    field('Payload contains (JSON)', inputs.payloadContains),
    h('button', { type: 'submit', 'data-testid': 'search' }, 'Search'),
  );

  replace(
    screen.main,
    h('h2', {}, 'Events'),
    form,
    message,
    h('table', {}, h('thead', {}, h('tr', {}, ...['received', 'provider', 'type', 'event key', 'status'].map((label) => h('th', {}, label)))), rows),
    pager,
    screen.viewer.readOnly ? null : bulkReplay(screen, filter),
  );
  await load();
}

/** Bulk replay of what the filter matches now: a dry-run count first, then progress while it runs. */
function bulkReplay(screen: Screen, filter: () => Record<string, unknown>): HTMLElement {
  const people = whoAndWhy();
  const result = h('div', { 'data-testid': 'bulk-result' });
  let timer: ReturnType<typeof setInterval> | undefined;
  screen.onLeave(() => clearInterval(timer));
  const run = async (dryRun: boolean) => {
    let input;
    try {
      input = { filter: filter(), dryRun, ...people.values() };
    } catch (error) {
      return replace(result, h('div', { class: 'error' }, (error as Error).message));
    }
    const { replayEvents } = await gql<{ replayEvents: { __typename: string; events?: number; deliveries?: number; id?: string; total?: number } }>(
      `mutation ($input: ReplayEventsInput!) { replayEvents(input: $input) {
         __typename ... on ReplayPreview { events deliveries } ... on ReplayRequest { id total processed status } ${ERROR_FIELDS} } }`,
      { input },
    );
    if (replayEvents.__typename === 'ReplayPreview') {
      return replace(result, h('div', { class: 'ok', 'data-testid': 'dry-run' }, `Dry run: ${replayEvents.events} events, ${replayEvents.deliveries} deliveries would be created.`));
    }
    if (!outcome(result, replayEvents, `Replay ${replayEvents.id} requested: ${replayEvents.total} events.`)) return;
    clearInterval(timer);
    timer = setInterval(() => {
      gql<{ replayRequests: { edges: { node: { id: string; processed: number; total: number; status: string } }[] } }>('{ replayRequests(first: 10) { edges { node { id processed total status } } } }')
        .then(({ replayRequests }) => {
          const request = replayRequests.edges.find(({ node }) => node.id === replayEvents.id)?.node;
          if (!request) return;
          replace(result, h('div', { class: 'ok', 'data-testid': 'bulk-progress' }, `Replay ${request.status}: ${request.processed} / ${request.total}`), h('progress', { max: request.total || 1, value: request.processed }));
          if (!['PENDING', 'RUNNING'].includes(request.status)) clearInterval(timer);
        })
        .catch(() => undefined);
    }, 1000);
  };
  const act = (dryRun: boolean) => () => void run(dryRun).catch((error: unknown) => replace(result, h('div', { class: 'error' }, (error as Error).message)));
  return h(
    'section',
    { class: 'panel' },
    h('h3', {}, 'Bulk replay of this filter'),
    people.element,
    h('div', { class: 'toolbar' }, h('button', { 'data-testid': 'dry-run-button', onclick: act(true) }, 'Dry run (count only)'), h('button', { class: 'danger', 'data-testid': 'bulk-replay', onclick: act(false) }, 'Replay all matching')),
    result,
  );
}
