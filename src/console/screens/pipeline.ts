import { gql } from '../api.js';
import { h, replace } from '../dom.js';
import type { Screen } from '../main.js';

interface Status {
  deliveriesByStatus: { status: string; count: number }[];
  oldestPendingDeliveryAgeSeconds: number | null;
  deadLetteredCount: number;
  persistLag: { partition: number; committedOffset: string | null; endOffset: string; lag: string }[] | null;
}

const STATUS = `{ processingStatus { deliveriesByStatus { status count } oldestPendingDeliveryAgeSeconds deadLetteredCount
  persistLag { partition committedOffset endOffset lag } } }`;

/** processingStatus, refreshed every five seconds while the screen is open. */
export async function renderPipeline(screen: Screen): Promise<void> {
  const body = h('div', { 'data-testid': 'pipeline' });
  const draw = async () => {
    const { processingStatus: status } = await gql<{ processingStatus: Status }>(STATUS);
    const age = status.oldestPendingDeliveryAgeSeconds;
    replace(
      body,
      h(
        'div',
        { class: 'cards' },
        h('div', { class: 'card' }, h('span', {}, 'Oldest due delivery'), h('b', { class: age && age > 60 ? 'bad' : '' }, age === null ? 'none' : `${age.toFixed(1)} s`)),
        h('div', { class: 'card' }, h('span', {}, 'Dead-lettered'), h('b', { class: status.deadLetteredCount ? 'bad' : '' }, status.deadLetteredCount)),
        ...status.deliveriesByStatus.map((row) => h('div', { class: `card status-${row.status}` }, h('span', {}, row.status), h('b', {}, row.count))),
      ),
      h('h3', {}, 'Persist lag per partition'),
      status.persistLag === null
        ? h('p', { class: 'error' }, 'The event log cannot be asked right now.')
        : h(
            'table',
            {},
            h('thead', {}, h('tr', {}, ...['partition', 'committed', 'end', 'lag'].map((label) => h('th', {}, label)))),
            h('tbody', {}, status.persistLag.map((row) => h('tr', {}, h('td', {}, row.partition), h('td', {}, row.committedOffset ?? '—'), h('td', {}, row.endOffset), h('td', { class: row.lag !== '0' ? 'bad' : '' }, row.lag)))),
          ),
    );
  };
  replace(screen.main, h('h2', {}, 'Pipeline'), body);
  await draw();
  const timer = setInterval(() => void draw().catch(() => undefined), 5000);
  screen.onLeave(() => clearInterval(timer));
}
