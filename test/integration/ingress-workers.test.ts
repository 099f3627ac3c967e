import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually } from '../helpers/app.js';
import { createHmacIntegration, startAppOn, type InProcessApp } from '../helpers/app-on.js';
import { hookgateEnv, spawnHookgate, whenReady, type HookgateChild } from '../helpers/child-app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { freePort } from '../helpers/processes.js';
import { signers } from '../helpers/providers.js';
import { describeWithServices, services } from '../helpers/services.js';
import { postWebhook } from '../helpers/signing.js';

const run = promisify(execFile);

/** Issue 18: INGRESS_WORKERS=N runs N ingress processes on one port behind one primary. */
describeWithServices('INGRESS_WORKERS: several ingress processes on one port', ['kafka', 'postgres', 'redis'], () => {
  let database: TestDatabase;
  let graph: InProcessApp;
  let primary: HookgateChild;
  let ingressUrl = '';
  let metricsUrl = '';
  const secret = `acme-secret-${crypto.randomUUID()}`;

  // The primary's children that run Hookgate: tsx may have an esbuild service child of its own.
  const workerPids = async () => {
    const { stdout } = await run('ps', ['--ppid', String(primary.pid), '-o', 'pid=,args=']).catch(() => ({ stdout: '' }));
    return stdout
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter(([, ...args]) => args.some((arg) => arg.endsWith('main.ts') || arg.endsWith('main.js')))
      .map(([pid]) => Number(pid));
  };
  const started = async () => (await primary.logLines()).filter((line) => line.msg === 'hookgate started').length;
  const send = async (count: number) =>
    Promise.all(
      Array.from({ length: count }, async () => {
        const body = JSON.stringify({ id: crypto.randomUUID() });
        return (await postWebhook(ingressUrl, 'acme', body, await signers.HMAC_SHA256!(body, secret))).status;
      }),
    );
  const accepted = async () => {
    const text = await (await fetch(metricsUrl)).text();
    const line = text.split('\n').find((entry) => entry.startsWith('hookgate_ingress_requests_total{') && entry.includes('provider="acme"') && entry.includes('outcome="accepted"'));
    return line ? Number(line.split(' ').pop()) : 0;
  };

  beforeAll(async () => {
    database = await createTestDatabase(services.testDatabaseUrl!);
    const env = hookgateEnv(database.url);
    graph = await startAppOn({ ...env, HOOKGATE_ROLE: 'graph,persist' });
    await createHmacIntegration(graph, { provider: 'acme', secret });
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    primary = await whenReady(await spawnHookgate({ ...env, HOOKGATE_ROLE: 'ingress', INGRESS_WORKERS: '2', METRICS_PORT: String(metricsPort) }, { name: 'ingress-workers' }));
    ingressUrl = (await primary.ready).ingress!;
    await eventually(async () => ((await started()) === 2 ? true : undefined), 30_000, 200);
    // Both workers listening, as the primary sees them.
    await eventually(async () => {
      const live = await fetch(metricsUrl.replace('/metrics', '/api/v1/health/live')).catch(() => undefined);
      return live && ((await live.json()) as { listening: number }).listening === 2 ? true : undefined;
    }, 30_000, 200);
  });

  afterAll(async () => {
    await primary?.kill('SIGKILL');
    for (const pid of primary ? await workerPids() : []) process.kill(pid, 'SIGKILL');
    await graph?.stop();
    await database?.drop();
  });

  it('accepts on one port from both workers, and serves their metrics summed', async () => {
    expect(await workerPids(), `children of the primary (log: ${primary.logFile})`).toHaveLength(2);
    expect(await send(40), `answers (log: ${primary.logFile})`).toEqual(Array(40).fill(202));
    expect(await accepted()).toBe(40);
    const live = await fetch(metricsUrl.replace('/metrics', '/api/v1/health/live'));
    expect(live.status).toBe(200);
    expect(await live.json()).toMatchObject({ status: 'ok', workers: 2, listening: 2 });
  });

  it('replaces a worker that dies, and keeps accepting meanwhile', async () => {
    const [victim] = await workerPids();
    process.kill(victim!, 'SIGKILL');
    // Requests in flight on the victim's connections are lost with it (a sender retries those);
    // once its sockets are closed, new ones go to the surviving worker.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await send(20)).toEqual(Array(20).fill(202));
    await eventually(async () => ((await started()) === 3 ? true : undefined), 30_000, 200);
    const now = await workerPids();
    expect(now).toHaveLength(2);
    expect(now).not.toContain(victim);
    expect(await send(20)).toEqual(Array(20).fill(202));
  }, 60_000);

  it('stops every worker and exits 0 on SIGTERM', async () => {
    const pids = await workerPids();
    await primary.kill('SIGTERM');
    expect((await primary.exited).code).toBe(0);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});
