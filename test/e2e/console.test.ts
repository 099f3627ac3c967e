import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../../src/graph/console-route.js';
import { eventually, startTestApp, TEST_API_KEY, type TestApp } from '../helpers/app.js';
import { createHmacIntegration, destinationSecret } from '../helpers/app-on.js';
import { signers } from '../helpers/providers.js';
import { startReceiver } from '../helpers/receiver.js';
import { describeWithServices } from '../helpers/services.js';
import { postWebhook } from '../helpers/signing.js';

const READ_KEY = 'console-read-only-key-0123456789';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(import.meta.dirname, '../../test-output/console');
const ROOT = join(import.meta.dirname, '../..');

/**
 * The console in a real browser (Debian's Chromium driven by playwright-core; .ci/run installs
 * it): an operator signs in, watches a webhook arrive live, opens it, replays it, searches by
 * payload, dry-runs a bulk replay — and a read-only key is offered none of the actions and is
 * refused by the API. Nothing is fetched from beyond 127.0.0.1. Screenshots: test-output/console.
 */
describeWithServices('the web console in Chromium', ['kafka', 'postgres', 'redis'], () => {
  let app: TestApp;
  let browser: Browser;
  let page: Page;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const secret = `acme-secret-${crypto.randomUUID()}`;
  const run = crypto.randomUUID().slice(0, 8);
  const foreign: string[] = [];
  const pageErrors: string[] = [];

  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const send = async (id: string, customer: string) => {
    const body = JSON.stringify({ id, type: 'invoice.paid', customer: { id: customer } });
    const response = await postWebhook(app.ingressUrl, 'acme', body, await signers.HMAC_SHA256!(body, secret));
    expect(response.status).toBe(202);
    return response.body.eventId as string;
  };
  const watch = (target: Page) => {
    const local = (url: string) => /^(https?|wss?):\/\/127\.0\.0\.1(:\d+)?\//.test(url) || url.startsWith('data:') || url.startsWith('blob:');
    target.on('request', (request) => void (local(request.url()) || foreign.push(request.url())));
    target.on('websocket', (socket) => void (local(socket.url()) || foreign.push(socket.url())));
    target.on('pageerror', (error) => pageErrors.push(error.message));
    target.on('console', (message) => void (message.type() === 'error' && pageErrors.push(message.text())));
  };
  const signIn = async (key: string) => {
    await page.goto(`${app.managementUrl}/`);
    await page.getByTestId('key').fill(key);
    await page.getByTestId('sign-in').click();
    await page.getByTestId('viewer').waitFor();
  };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run does)`);
    // The suite tests the console as the source is now (npm ci builds it too).
    execFileSync(process.execPath, [join(ROOT, 'scripts/build-console.mjs')], { stdio: 'ignore' });
    mkdirSync(SHOTS, { recursive: true });
    receiver = await startReceiver();
    app = await startTestApp({ MANAGEMENT_READ_KEYS: READ_KEY, DELIVERY_ALLOWED_HOSTS: '127.0.0.1', DELIVERY_POLL_INTERVAL_MS: '200' });
    const graphql = app.graphql.bind(app);
    await createHmacIntegration({ graphql, stop: async () => {} }, { provider: 'acme', secret, destinations: [{ url: `${receiver.url}/hooks`, secret: destinationSecret() }] });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    watch(page);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await receiver?.stop();
  });

  it('serves the console under a strict CSP, and / leads to it', async () => {
    const response = await fetch(`${app.managementUrl}/`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/console/');
    const html = await fetch(`${app.managementUrl}/console/`);
    expect(html.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(await html.text()).not.toMatch(/<script>|<script [^>]*>[^<]|style=/);
  });

  it('an operator watches, opens, replays and finds a webhook, and dry-runs a bulk replay', async () => {
    await signIn(TEST_API_KEY);
    await shot('1-live');
    // The subscription starts when the page does: send until one arrives on screen (bounded).
    let eventId = '';
    await eventually(async () => {
      eventId = await send(`live-${run}-${crypto.randomUUID().slice(0, 4)}`, `cus_live_${run}`);
      const shown = await page.getByTestId('live-events').locator(`a[href="#/events/${eventId}"]`).waitFor({ timeout: 2000 }).then(() => true, () => undefined);
      return shown;
    }, 30_000, 0);
    await eventually(async () => ((await page.getByTestId('live-deliveries').locator('tr').count()) > 0 ? true : undefined), 20_000, 200);
    await shot('2-live-with-event');

    await page.getByTestId('live-events').locator(`a[href="#/events/${eventId}"]`).click();
    await expect.poll(async () => page.getByTestId('delivery-status').allTextContents(), { timeout: 20_000, interval: 500 }).toEqual(['SUCCEEDED']);
    // The delivery landed before the page loaded or while it showed; reload to be sure of its attempts.
    await page.reload();
    await page.getByTestId('delivery').first().waitFor();
    await shot('3-event');

    const before = receiver.received.length;
    await page.getByTestId('requested-by').fill('console test');
    await page.getByTestId('reason').fill('replay from the browser test');
    await page.getByTestId('replay').click();
    await page.getByTestId('action-ok').waitFor();
    await expect.poll(async () => (await page.getByTestId('delivery-status').allTextContents()).sort(), { timeout: 30_000, interval: 500 }).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(receiver.received.length).toBe(before + 1);
    await shot('4-event-replayed');

    // Payload containment: a second event with another customer must not match.
    await send(`other-${run}`, `cus_other_${run}`);
    await page.getByTestId('nav-events').click();
    await page.getByTestId('payload-contains').fill(JSON.stringify({ customer: { id: `cus_live_${run}` } }));
    await page.getByTestId('search').click();
    await expect.poll(async () => page.getByTestId('event-link').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.getByTestId('event-link').getAttribute('href')).toBe(`#/events/${eventId}`);
    await shot('5-events-payload-filter');

    await page.getByTestId('requested-by').fill('console test');
    await page.getByTestId('reason').fill('dry run from the browser test');
    await page.getByTestId('dry-run-button').click();
    await expect(page.getByTestId('dry-run').textContent()).resolves.toBe('Dry run: 1 events, 1 deliveries would be created.');
    await shot('6-bulk-dry-run');

    await page.getByTestId('nav-integrations').click();
    await page.getByTestId('integrations').waitFor();
    await shot('7-integrations');
    await page.getByTestId('nav-pipeline').click();
    await page.getByTestId('pipeline').locator('.card').first().waitFor();
    await shot('8-pipeline');
    expect(foreign).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('a read-only key is offered no replay, and the API refuses one', async () => {
    await page.getByTestId('sign-out').click();
    await signIn(READ_KEY);
    expect(await page.getByTestId('viewer').textContent()).toContain('(read-only)');
    const [edge] = (await app.graphql<{ events: { edges: { node: { id: string } }[] } }>('{ events(first: 1) { edges { node { id } } } }')).data!.events.edges;
    await page.goto(`${app.managementUrl}/console/#/events/${edge!.node.id}`);
    await page.getByTestId('read-only-note').waitFor();
    expect(await page.getByTestId('replay').count()).toBe(0);
    expect(await page.getByTestId('retry').count()).toBe(0);
    await shot('9-read-only-event');
    await page.getByTestId('nav-events').click();
    await page.getByTestId('event-rows').waitFor();
    expect(await page.getByTestId('dry-run-button').count()).toBe(0);
    // The page's own key, sent as the console sends it: the API answers ForbiddenError.
    const answer = await page.evaluate(async (eventId) => {
      const response = await fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-internal-api-key': sessionStorage.getItem('hookgate.key') ?? '' },
        body: JSON.stringify({
          query: 'mutation ($input: RequestReplayInput!) { requestReplay(input: $input) { __typename } }',
          variables: { input: { eventId, requestedBy: 'wall', reason: 'must be refused' } },
        }),
      });
      return response.json();
    }, edge!.node.id);
    expect(answer).toEqual({ data: { requestReplay: { __typename: 'ForbiddenError' } } });
    expect(foreign).toEqual([]);
  }, 60_000);

  it('GraphiQL renders from the project itself and runs a query, with no network beyond 127.0.0.1', async () => {
    const graphiql = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    watch(graphiql);
    await graphiql.addInitScript((key) => {
      localStorage.setItem('graphiql:headers', JSON.stringify({ 'x-internal-api-key': key }));
    }, TEST_API_KEY);
    await graphiql.goto(`${app.managementUrl}/graphql`);
    await graphiql.locator('.graphiql-execute-button').waitFor({ timeout: 30_000 });
    const answered = graphiql.waitForResponse((response) => response.url().endsWith('/graphql') && response.request().method() === 'POST' && (response.request().postData() ?? '').includes('query Viewer'));
    await graphiql.locator('.graphiql-execute-button').click();
    const response = await answered;
    expect(await response.json()).toEqual({ data: { viewer: { actor: expect.stringMatching(/^key:/), readOnly: false } } });
    await expect.poll(async () => graphiql.locator('.result-window').textContent(), { timeout: 10_000 }).toContain('readOnly');
    await graphiql.screenshot({ path: join(SHOTS, '10-graphiql.png') });
    expect(foreign).toEqual([]);
    await graphiql.close();
  }, 60_000);
});
