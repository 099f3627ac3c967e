import { gql, subscribe } from '../api.js';
import { h, replace, time } from '../dom.js';
import type { Screen } from '../main.js';

const STATUSES = ['', 'PENDING', 'IN_FLIGHT', 'SUCCEEDED', 'RETRYING', 'FAILED', 'CANCELLED'];
const WINDOW_MS = 5 * 60_000;
const MAX_ROWS = 200;

interface Change {
  at: string;
  deliveryId: string;
  eventId: string;
  integrationId: string;
  previousStatus: string;
  status: string;
  delivery: { lastStatusCode: number | null; destination: { url: string } } | null;
}
interface Received {
  id: string;
  provider: string;
  eventType: string | null;
  eventKey: string;
  receivedAt: string;
}

/** Live: new events and delivery status changes as they happen (graphql-ws), with pause and filters. */
export async function renderLive(screen: Screen): Promise<void> {
  const { integrations } = await gql<{ integrations: { edges: { node: { id: string; provider: string } }[] } }>(
    '{ integrations(first: 100) { edges { node { id provider } } } }',
  );
  const integration = h('select', { 'data-testid': 'live-integration' }, h('option', { value: '' }, 'all integrations'), ...integrations.edges.map(({ node }) => h('option', { value: node.id }, node.provider)));
  const status = h('select', { 'data-testid': 'live-status' }, ...STATUSES.map((value) => h('option', { value }, value || 'any status')));
  const pause = h('button', { 'data-testid': 'pause' }, 'Pause');
  const counters = h('div', { class: 'counters', 'data-testid': 'live-counters' });
  const note = h('div', { class: 'muted' });
  const eventRows = h('tbody', { 'data-testid': 'live-events' });
  const changeRows = h('tbody', { 'data-testid': 'live-deliveries' });
  let paused = false;
  const seen: { at: number; failed: boolean }[] = [];
  const received: number[] = [];

  const providers = new Map(integrations.edges.map(({ node }) => [node.id, node.provider]));
  const keep = (rows: HTMLElement) => {
    while (rows.children.length > MAX_ROWS) rows.lastElementChild?.remove();
  };
  const showCounters = () => {
    const since = Date.now() - WINDOW_MS;
    while (seen.length && seen[0]!.at < since) seen.shift();
    while (received.length && received[0]! < since) received.shift();
    const failures = seen.filter((item) => item.failed).length;
    replace(
      counters,
      h('span', {}, `events: ${(received.length / 5).toFixed(1)}/min`),
      h('span', {}, `status changes: ${(seen.length / 5).toFixed(1)}/min`),
      h('span', { class: failures ? 'bad' : '' }, `failures (retrying, failed): ${failures} in 5 min`),
    );
  };

  let stopEvents = () => {};
  let stopChanges = () => {};
  const connect = () => {
    stopEvents();
    stopChanges();
    const provider = providers.get(integration.value);
    stopEvents = subscribe<{ eventReceived: Received }>(
      'subscription ($provider: String) { eventReceived(provider: $provider) { id provider eventType eventKey receivedAt } }',
      provider ? { provider } : {},
      ({ eventReceived: event }) => {
        received.push(Date.now());
        if (paused) return;
        eventRows.prepend(
          h('tr', {}, h('td', {}, time(event.receivedAt)), h('td', {}, event.provider), h('td', {}, event.eventType ?? '—'), h('td', {}, h('a', { href: `#/events/${event.id}`, 'data-testid': 'live-event-link' }, event.eventKey))),
        );
        keep(eventRows);
        showCounters();
      },
      (message) => (note.textContent = `subscription: ${message}`),
    );
    const filter = { ...(integration.value ? { integrationId: integration.value } : {}), ...(status.value ? { status: status.value } : {}) };
    stopChanges = subscribe<{ deliveryStatusChanged: Change }>(
      `subscription ($filter: DeliveryStatusChangedFilter) { deliveryStatusChanged(filter: $filter) {
         at deliveryId eventId integrationId previousStatus status delivery { lastStatusCode destination { url } } } }`,
      { filter },
      ({ deliveryStatusChanged: change }) => {
        seen.push({ at: Date.now(), failed: change.status === 'FAILED' || change.status === 'RETRYING' });
        if (paused) return;
        changeRows.prepend(
          h(
            'tr',
            { class: `status-${change.status}` },
            h('td', {}, time(change.at)),
            h('td', {}, providers.get(change.integrationId) ?? change.integrationId.slice(0, 8)),
            h('td', {}, h('a', { href: `#/events/${change.eventId}` }, change.eventId.slice(0, 8))),
            h('td', {}, change.delivery?.destination.url ?? '—'),
            h('td', {}, `${change.previousStatus} → `, h('b', {}, change.status)),
            h('td', {}, change.delivery?.lastStatusCode ?? '—'),
          ),
        );
        keep(changeRows);
        showCounters();
      },
      (message) => (note.textContent = `subscription: ${message}`),
    );
  };
  integration.addEventListener('change', connect);
  status.addEventListener('change', connect);
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
  });
  const timer = setInterval(showCounters, 5000);
  screen.onLeave(() => {
    clearInterval(timer);
    stopEvents();
    stopChanges();
  });
  connect();
  showCounters();

  replace(
    screen.main,
    h('h2', {}, 'Live'),
    h('div', { class: 'toolbar' }, integration, status, pause, counters),
    note,
    h('h3', {}, 'Events received'),
    h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'received'), h('th', {}, 'provider'), h('th', {}, 'type'), h('th', {}, 'event key'))), eventRows),
    h('h3', {}, 'Delivery status changes'),
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, ...['at', 'integration', 'event', 'destination', 'status', 'HTTP'].map((label) => h('th', {}, label)))),
      changeRows,
    ),
  );
}
