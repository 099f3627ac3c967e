import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import { z } from 'zod';
import { signStandardWebhook } from '../../src/consumers/outbound-signature.js';
import { eventIdFor } from '../../src/ids.js';
import { benchBody, benchEventKey, benchReceivedAt } from './bench-webhooks.js';
import { startCpuMeter, type CpuShares } from './cpu-meter.js';
import { peakRssBytes } from './server-process.js';

/**
 * The delivery bench's baseline: `concurrency` loops posting the same bodies to the same receiver
 * over a keep-alive node:http agent (what Hookgate's sender uses), each request with Hookgate's
 * headers and its own Standard Webhooks signature, computed as it is sent. No database, no queue.
 * Usage: node --import tsx scripts/bench/raw-sender.ts '<options JSON>'
 */

export const rawSenderOptions = z.object({
  url: z.url(),
  concurrency: z.number().int().positive(),
  count: z.number().int().positive(),
  runId: z.string().min(1),
  integrationId: z.uuid(),
  startMs: z.number().int(),
  secret: z.string().startsWith('whsec_'),
  receiverPid: z.number().int().positive(),
  resultFile: z.string().min(1),
});
export type RawSenderOptions = z.infer<typeof rawSenderOptions>;

export interface RawSenderResult {
  concurrency: number;
  requests: number;
  ok: number;
  failed: number;
  seconds: number;
  requestsPerSecond: number;
  /** Request start to last response byte, in ms (Hookgate's attempts record the same span, rounded). */
  durationMs: { p50: number; p99: number; max: number };
  peakRssBytes: number | null;
  cpu: CpuShares;
}

function post(agent: http.Agent, url: URL, headers: Record<string, string>, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ method: 'POST', host: url.hostname, port: url.port, path: url.pathname, headers, agent }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const percentile = (sorted: Float64Array, p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? 0;

async function main(): Promise<void> {
  const options = rawSenderOptions.parse(JSON.parse(process.argv[2] ?? '{}'));
  const url = new URL(options.url);
  const work = Array.from({ length: options.count }, (_, index) => {
    const eventKey = benchEventKey(options.runId, index);
    return {
      eventId: eventIdFor(options.integrationId, eventKey),
      deliveryId: randomUUID(),
      body: benchBody(options.runId, index, benchReceivedAt(options.startMs, index)),
    };
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency, scheduling: 'lifo' });
  const durations = new Float64Array(options.count);
  let next = 0;
  let ok = 0;
  let failed = 0;

  const loop = async () => {
    while (next < work.length) {
      const index = next++;
      const item = work[index]!;
      const started = performance.now();
      const timestamp = Math.floor(Date.now() / 1000);
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'Hookgate/0.1 (+webhook delivery)',
        'webhook-id': item.eventId,
        'webhook-timestamp': String(timestamp),
        'x-hookgate-event-id': item.eventId,
        'x-hookgate-delivery-id': item.deliveryId,
        'x-request-id': randomUUID(),
        'webhook-signature': signStandardWebhook(options.secret, item.eventId, timestamp, item.body),
        host: url.host,
        'content-length': String(item.body.length),
      };
      try {
        const status = await post(agent, url, headers, item.body);
        if (status >= 200 && status < 300) ok += 1;
        else failed += 1;
      } catch {
        failed += 1;
      }
      durations[index] = performance.now() - started;
    }
  };

  const meter = await startCpuMeter({ receiver: [options.receiverPid] });
  const started = performance.now();
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  const seconds = (performance.now() - started) / 1000;
  const cpu = await meter.stop();
  agent.destroy();
  const sorted = durations.slice().sort();
  const result: RawSenderResult = {
    concurrency: options.concurrency,
    requests: options.count,
    ok,
    failed,
    seconds,
    requestsPerSecond: ok / seconds,
    durationMs: { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1] ?? 0 },
    peakRssBytes: await peakRssBytes(process.pid),
    cpu,
  };
  await writeFile(options.resultFile, `${JSON.stringify(result, null, 2)}\n`);
}

await main();
