import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { COMMANDS, version } from '../../src/cli/index.js';
import { config } from '../../src/cli/context.js';
import { runCommand } from '../../src/cli/run-command.js';
import { eventually, startTestApp, TEST_API_KEY, type TestApp } from '../helpers/app.js';
import { startReceiver } from '../helpers/receiver.js';
import { describeWithServices } from '../helpers/services.js';
import { hexHmac, postWebhook } from '../helpers/signing.js';

/**
 * An operator's day from the terminal: every command goes through the public GraphQL API of a
 * gateway on the real services, and `--json` answers are what scripts would parse.
 */
describeWithServices('the CLI against a running gateway', ['kafka', 'postgres', 'redis'], () => {
  let app: TestApp;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const secret = `acme-cli-secret-${crypto.randomUUID()}`;

  async function cli(...argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const env = { NODE_ENV: 'test', MANAGEMENT_API_KEY: TEST_API_KEY, MANAGEMENT_PORT: new URL(app.managementUrl).port, INGRESS_PORT: new URL(app.ingressUrl).port };
    const code = await runCommand(COMMANDS, argv, env, { version, config, out: (text) => out.push(text), err: (text) => err.push(text) });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are read field by field and checked by the assertions
    return { code, out: out.join(''), err, json: () => JSON.parse(out.join('')) as Record<string, any> };
  }

  beforeAll(async () => {
    app = await startTestApp({ DELIVERY_ALLOWED_HOSTS: '127.0.0.1', RETRY_DELIVERY_COOLDOWN_SECONDS: '0' });
    receiver = await startReceiver();
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await receiver?.stop();
  });

  it('answers an empty list with null cursors', async () => {
    const empty = await cli('events', 'list', '--provider', 'nobody', '--json');
    expect(empty.code).toBe(0);
    expect(empty.json()).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
  });

  it('creates an integration and a destination whose printed secret signs its deliveries', async () => {
    expect((await cli('integrations', 'create', '--provider', 'acme', '--name', 'Acme', '--scheme', 'hmac_sha256', '--secret', secret, '--event-key-path', '$.id')).code).toBe(0);
    const added = await cli('destinations', 'add', 'acme', '--url', `${receiver.url}/in`);
    expect(added.code).toBe(0);
    const printed = /\n(whsec_\S+)\n$/.exec(added.out)?.[1];
    expect(printed).toBeDefined();

    const body = JSON.stringify({ id: 'cli-order-1', type: 'order.created', customer: { id: 'cus_cli' } });
    const accepted = await postWebhook(app.ingressUrl, 'acme', body, { 'x-acme-signature': hexHmac(secret, body) });
    expect(accepted.status).toBe(202);
    const delivered = await eventually(() => receiver.received.find((request) => request.body === body));
    expect(() => new Webhook(printed!).verify(delivered.body, delivered.headers)).not.toThrow();

    const listed = await cli('events', 'list', '--contains', '{"customer":{"id":"cus_cli"}}', '--json');
    expect(listed.json().edges.map((edge: { node: { id: string } }) => edge.node.id)).toEqual([accepted.body.eventId]);
    const table = await cli('events', 'list', '--provider', 'acme');
    expect(table.out).toMatch(/^ID\s+PROVIDER\s+EVENTKEY/);
    expect(table.out).toContain('cli-order-1');
  });

  it('shows an event with its deliveries and attempts, replays it, and counts a bulk replay without creating one', async () => {
    const [edge] = (await cli('events', 'list', '--provider', 'acme', '--json')).json().edges;
    const eventId = edge.node.id as string;
    const shown = await eventually(async () => {
      const event = (await cli('events', 'show', eventId, '--json')).json();
      return event.deliveries[0]?.attempts.length ? event : undefined;
    });
    expect(shown.payload).toMatchObject({ id: 'cli-order-1' });
    expect(shown.deliveries[0].attempts[0].statusCode).toBe(200);

    const replayed = await cli('events', 'replay', eventId, '--by', 'alice', '--reason', 'receiver restored', '--json');
    expect(replayed.code).toBe(0);
    expect(replayed.json().deliveries).toHaveLength(1);

    const preview = await cli('replay', 'bulk', '--provider', 'acme', '--dry-run', '--json');
    expect(preview.json()).toMatchObject({ __typename: 'ReplayPreview', events: 1, deliveries: 1 });
    const requests = (await cli('replay', 'list', '--json')).json();
    expect(requests.edges).toHaveLength(1);
  });

  it('lists deliveries by status and refuses to retry one that did not fail, with exit 1 and one line', async () => {
    const succeeded = await eventually(async () => {
      const page = (await cli('deliveries', 'list', '--status', 'succeeded', '--json')).json();
      return page.edges.length === 2 ? page : undefined;
    });
    expect((await cli('deliveries', 'list', '--status', 'FAILED', '--json')).json().edges).toEqual([]);
    const refused = await cli('deliveries', 'retry', succeeded.edges[0].node.id, '--reason', 'try again');
    expect(refused.code).toBe(1);
    expect(refused.err).toHaveLength(1);
    expect(refused.err[0]).toContain('(NOT_FAILED)');
  });

  it('updates, disables, re-enables a destination and rotates its secret and the integration secret', async () => {
    const [destination] = (await cli('destinations', 'list', 'acme', '--json')).json() as unknown as { id: string }[];
    expect((await cli('destinations', 'update', destination!.id, '--ordered', '--json')).json()).toMatchObject({ ordered: true });
    expect((await cli('destinations', 'disable', destination!.id, '--reason', 'receiver down', '--json')).json()).toMatchObject({ enabled: false, disabledReason: 'receiver down' });
    expect((await cli('destinations', 'update', destination!.id, '--enable', '--no-ordered', '--json')).json()).toMatchObject({ enabled: true, ordered: false });
    const rotated = (await cli('destinations', 'rotate-secret', destination!.id, '--json')).json();
    expect(rotated.secret).toMatch(/^whsec_/);

    // Destination policies (issue 14) through the same command: filters, write-only headers, limits, parking.
    const policies = await cli('destinations', 'update', destination!.id, '--event-type', 'order.*,refund.created', '--header', 'Authorization: Bearer cli-secret-value', '--max-per-second', '20', '--max-concurrency', '2', '--json');
    expect(policies.json()).toMatchObject({ eventTypes: ['order.*', 'refund.created'], headerNames: ['Authorization'], maxPerSecond: 20, maxConcurrency: 2 });
    expect(policies.out).not.toContain('cli-secret-value');
    expect((await cli('destinations', 'park', destination!.id, '--reason', 'maintenance', '--json')).json()).toMatchObject({ health: 'PARKED' });
    expect((await cli('destinations', 'unpark', destination!.id, '--reason', 'back', '--json')).json()).toMatchObject({ health: 'HEALTHY' });
    const cleared = await cli('destinations', 'update', destination!.id, '--event-type', '*', '--json');
    expect(cleared.json()).toMatchObject({ eventTypes: ['*'] });

    const integration = await cli('integrations', 'rotate-secret', 'acme', '--previous-ttl', '0');
    expect(integration.code).toBe(0);
    const newSecret = /\n([0-9a-f]{64})\n$/.exec(integration.out)?.[1];
    expect(newSecret).toBeDefined();
    const body = JSON.stringify({ id: 'cli-order-2' });
    expect((await postWebhook(app.ingressUrl, 'acme', body, { 'x-acme-signature': hexHmac(newSecret!, body) })).status).toBe(202);
    expect((await postWebhook(app.ingressUrl, 'acme', JSON.stringify({ id: 'cli-order-3' }), { 'x-acme-signature': hexHmac(secret, JSON.stringify({ id: 'cli-order-3' })) })).status).toBe(401);
  });

  it('shows the pipeline at a glance', async () => {
    const status = await cli('status', '--json');
    expect(status.code).toBe(0);
    expect(status.json().health.status).toBe('ok');
    expect(status.json().processing.deliveriesByStatus.length).toBeGreaterThan(0);
    expect((await cli('status')).out).toMatch(/^health\s+ok \(/);
  });
});
