import { ERROR_FIELDS, gql } from '../api.js';
import { field, h, outcome, replace, time } from '../dom.js';
import type { Screen } from '../main.js';

interface Destination {
  id: string;
  url: string;
  enabled: boolean;
  disabledReason: string | null;
  disabledAt: string | null;
  health: 'HEALTHY' | 'PARKED' | 'DISABLED';
  parkedReason: string | null;
  backlog: number;
  currentConcurrency: number;
}
interface Integration {
  id: string;
  provider: string;
  name: string;
  enabled: boolean;
  rateLimitPerMinute: number | null;
  secretRotatedAt: string | null;
  verification: { scheme: string };
  destinations: Destination[];
}

// Two steps: the API's cost limit weighs depth, and the list with destinations nested in it is
// over the limit; each integration's destinations are asked for on their own (in parallel).
const LIST = `{ integrations(first: 100) { edges { node { id provider name enabled rateLimitPerMinute secretRotatedAt } } } }`;
const DETAIL = `query ($id: ID!) { integration(id: $id) { verification { scheme } destinations { id url enabled disabledReason disabledAt health parkedReason backlog currentConcurrency } } }`;
const SCHEMES = ['HMAC_SHA256', 'STANDARD_WEBHOOKS', 'STRIPE', 'GITHUB', 'SHOPIFY', 'SLACK', 'SHARED_TOKEN'];

/** A secret generated here, in the browser: shown once, then only the API holds it (write-only). */
function generateSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** Integrations and their destinations: list, create, enable/disable, rotate a secret, destination health. */
export async function renderIntegrations(screen: Screen): Promise<void> {
  const { integrations } = await gql<{ integrations: { edges: { node: Integration }[] } }>(LIST);
  await Promise.all(
    integrations.edges.map(async ({ node }) => {
      const { integration } = await gql<{ integration: Pick<Integration, 'verification' | 'destinations'> | null }>(DETAIL, { id: node.id });
      node.verification = integration?.verification ?? { scheme: '?' };
      node.destinations = integration?.destinations ?? [];
    }),
  );
  const result = h('div', { 'data-testid': 'integration-result' });
  const again = () => void renderIntegrations(screen).catch(() => undefined);
  const run = (action: () => Promise<void>) => () => void action().catch((error: unknown) => replace(result, h('div', { class: 'error' }, (error as Error).message)));
  const writable = !screen.viewer.readOnly;

  const setIntegration = async (integration: Integration, enabled: boolean) => {
    const { updateIntegration } = await gql<{ updateIntegration: { __typename: string } }>(
      `mutation ($input: UpdateIntegrationInput!) { updateIntegration(input: $input) { __typename ${ERROR_FIELDS} } }`,
      { input: { id: integration.id, enabled } },
    );
    if (outcome(result, updateIntegration, `${integration.provider} ${enabled ? 'enabled' : 'disabled'}.`)) again();
  };
  const setDestination = async (destination: Destination, enabled: boolean) => {
    const reason = enabled ? '' : (prompt('Why disable this destination? (3–500 characters)') ?? '');
    const { answer } = enabled
      ? await gql<{ answer: { __typename: string } }>(`mutation ($input: UpdateDestinationInput!) { answer: updateDestination(input: $input) { __typename ${ERROR_FIELDS} } }`, {
          input: { id: destination.id, enabled: true },
        })
      : await gql<{ answer: { __typename: string } }>(`mutation ($input: DisableDestinationInput!) { answer: disableDestination(input: $input) { __typename ${ERROR_FIELDS} } }`, {
          input: { id: destination.id, reason },
        });
    if (outcome(result, answer, `Destination ${enabled ? 'enabled' : 'disabled'}.`)) again();
  };
  const rotate = async (integration: Integration) => {
    const secret = generateSecret();
    const { rotateIntegrationSecret } = await gql<{ rotateIntegrationSecret: { __typename: string } }>(
      `mutation ($input: RotateIntegrationSecretInput!) { rotateIntegrationSecret(input: $input) { __typename ${ERROR_FIELDS} } }`,
      { input: { id: integration.id, secret } },
    );
    if (!outcome(result, rotateIntegrationSecret, '')) return;
    replace(
      result,
      h('div', { class: 'ok' }, `New secret for ${integration.provider} (shown once; the previous one keeps verifying for 24 h):`),
      h('pre', { class: 'secret', 'data-testid': 'new-secret' }, secret),
    );
  };

  const provider = h('input', { name: 'provider', required: true, placeholder: 'acme' });
  const name = h('input', { name: 'name', required: true, placeholder: 'Acme payments' });
  const scheme = h('select', { name: 'scheme' }, ...SCHEMES.map((value) => h('option', { value }, value)));
  const url = h('input', { name: 'url', placeholder: 'https://receiver.example/hooks (optional)' });
  const create = async () => {
    const secret = generateSecret();
    const input = {
      provider: provider.value.trim(),
      name: name.value.trim(),
      verification: { scheme: scheme.value, secret },
      destinations: url.value.trim() ? [{ url: url.value.trim() }] : [],
    };
    const { createIntegration } = await gql<{ createIntegration: { __typename: string } }>(
      `mutation ($input: CreateIntegrationInput!) { createIntegration(input: $input) { __typename ${ERROR_FIELDS} } }`,
      { input },
    );
    if (!outcome(result, createIntegration, '')) return;
    replace(result, h('div', { class: 'ok' }, `Created ${input.provider}. Its verification secret (shown once, give it to the provider):`), h('pre', { class: 'secret' }, secret));
  };

  replace(
    screen.main,
    h('h2', {}, 'Integrations and destinations'),
    result,
    h(
      'table',
      { 'data-testid': 'integrations' },
      h('thead', {}, h('tr', {}, ...['provider', 'name', 'scheme', 'state', 'secret rotated', 'destinations', ''].map((label) => h('th', {}, label)))),
      h(
        'tbody',
        {},
        integrations.edges.map(({ node }) =>
          h(
            'tr',
            {},
            h('td', {}, node.provider),
            h('td', {}, node.name),
            h('td', {}, node.verification.scheme),
            h('td', { class: node.enabled ? 'good' : 'bad' }, node.enabled ? 'enabled' : 'disabled'),
            h('td', {}, time(node.secretRotatedAt)),
            h(
              'td',
              {},
              node.destinations.map((destination) =>
                h(
                  'div',
                  { class: 'destination' },
                  h('span', { class: destination.enabled ? 'good' : 'bad' }, destination.enabled ? '● enabled ' : `● disabled ${time(destination.disabledAt)} `),
                  destination.url,
                  destination.disabledReason ? h('span', { class: 'muted' }, ` (${destination.disabledReason})`) : null,
                  // Health from the destination policies: parked destinations only get probes until one succeeds.
                  h(
                    'span',
                    { class: destination.health === 'HEALTHY' ? 'muted' : 'bad' },
                    ` · ${destination.health.toLowerCase()}${destination.parkedReason ? ` (${destination.parkedReason})` : ''} · backlog ${destination.backlog} · in flight ${destination.currentConcurrency} `,
                  ),
                  writable ? h('button', { class: 'link', onclick: run(() => setDestination(destination, !destination.enabled)) }, destination.enabled ? 'disable' : 'enable') : null,
                ),
              ),
            ),
            h(
              'td',
              {},
              writable ? h('button', { onclick: run(() => setIntegration(node, !node.enabled)) }, node.enabled ? 'Disable' : 'Enable') : null,
              writable ? h('button', { onclick: run(() => rotate(node)) }, 'Rotate secret') : null,
            ),
          ),
        ),
      ),
    ),
    writable
      ? h(
          'form',
          { class: 'panel filters', onsubmit: (event: Event) => (event.preventDefault(), run(create)()) },
          h('h3', {}, 'New integration'),
          field('Provider slug', provider),
          field('Name', name),
          field('Scheme', scheme),
          field('Destination URL', url),
          h('button', { type: 'submit' }, 'Create (generates the secret)'),
        )
      : null,
  );
}
