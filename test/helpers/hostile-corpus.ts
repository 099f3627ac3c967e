import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { MAX_JSON_DEPTH } from '../../src/json/scan-json.js';
import { eventually } from './eventually.js';
import type { startReceiver } from './receiver.js';
import { hexHmac, postWebhook } from './signing.js';

/**
 * STYLE.md §12 and DESIGN.md §3: hostile-but-valid signed bodies, each sent between ordinary
 * webhooks that share its ordering key — so its Kafka key and partition — to show that it never
 * stops its partition. Every body carries a canary so that a log line quoting it is found.
 */
export interface HostileCase {
  name: string;
  /** The exact bytes sent (a string is sent as UTF-8). */
  body: string | Buffer;
  /** `stored`: 202, stored byte for byte and delivered; `refused`: a 4xx at the ingress. */
  expect: 'stored' | 'refused';
}

const ORDER = 'one-partition';

export function hostileCorpus(canary: string): HostileCase[] {
  const tag = (name: string) => `"canary":"${canary}-${name}","order":"${ORDER}"`;
  const nested = (name: string, levels: number) =>
    `{"id":"${name}",${tag(name)},"deep":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;
  return [
    { name: 'nul-in-value', body: `{"id":"nul-in-value",${tag('nul-in-value')},"note":"a\\u0000b"}`, expect: 'stored' },
    { name: 'nul-in-key', body: `{"id":"nul-in-key",${tag('nul-in-key')},"a\\u0000b":1}`, expect: 'stored' },
    // The event key is read from $.id: a NUL cannot be a key (text column, Kafka header).
    { name: 'nul-in-event-key', body: `{"id":"evt\\u0000key",${tag('nul-in-event-key')}}`, expect: 'refused' },
    { name: 'lone-surrogate', body: `{"id":"lone-surrogate",${tag('lone-surrogate')},"s":"\\ud800","t":"x\\udfffy"}`, expect: 'stored' },
    { name: 'nested-100', body: nested('nested-100', 100), expect: 'stored' },
    { name: `nested-${MAX_JSON_DEPTH}`, body: nested(`nested-${MAX_JSON_DEPTH}`, MAX_JSON_DEPTH), expect: 'stored' },
    { name: 'nested-1000', body: nested('nested-1000', 1000), expect: 'refused' },
    { name: 'nested-10000', body: nested('nested-10000', 10_000), expect: 'refused' },
    // 1 MiB of one string, minus room for the wire headers: Kafka's default message.max.bytes is 1 MiB too.
    { name: 'one-mib-string', body: `{"id":"one-mib-string",${tag('one-mib-string')},"s":"${'x'.repeat(1024 * 1024 - 8 * 1024)}"}`, expect: 'stored' },
    { name: 'huge-numbers', body: `{"id":"huge-numbers",${tag('huge-numbers')},"big":${'9'.repeat(4000)},"exp":1e1000000,"tiny":1e-1000000}`, expect: 'stored' },
    { name: 'duplicate-keys', body: `{"id":"duplicate-keys",${tag('duplicate-keys')},"a":1,"a":{"b":2},"a":[3]}`, expect: 'stored' },
    { name: 'non-ascii-keys', body: `{"id":"non-ascii-keys",${tag('non-ascii-keys')},"ключ":"値","🔑":"✓","e\\u0301":"é"}`, expect: 'stored' },
    // The event key names the event: a number JSON.parse rounds, or bytes that are not UTF-8 (read
    // as U+FFFD), would make two different events one, and drop the second after its 202.
    { name: 'safe-integer-id', body: `{"id":9007199254740991,${tag('safe-integer-id')}}`, expect: 'stored' },
    { name: 'unsafe-integer-id', body: `{"id":12345678901234567891,${tag('unsafe-integer-id')}}`, expect: 'refused' },
    { name: 'fraction-id', body: `{"id":1.5,${tag('fraction-id')}}`, expect: 'refused' },
    { name: 'invalid-utf8-id', body: Buffer.concat([Buffer.from('{"id":"bad-'), Buffer.from([0xff]), Buffer.from(`",${tag('invalid-utf8-id')}}`)]), expect: 'refused' },
    { name: 'invalid-utf8-value', body: Buffer.concat([Buffer.from(`{"id":"invalid-utf8-value",${tag('invalid-utf8-value')},"v":"`), Buffer.from([0xfe, 0xff]), Buffer.from('"}')]), expect: 'stored' },
    // The type is an indexed text column: Postgres refuses an index entry over about 2.7 KB.
    { name: 'type-at-limit', body: `{"id":"type-at-limit",${tag('type-at-limit')},"type":"${'t'.repeat(256)}"}`, expect: 'stored' },
    { name: 'type-too-long', body: `{"id":"type-too-long",${tag('type-too-long')},"type":"${'t'.repeat(3000)}"}`, expect: 'refused' },
  ];
}

export interface CorpusTarget {
  ingressUrl: string;
  /** Bytes of the stored event's raw body, or null when there is no such event. */
  storedBody(eventId: string): Promise<Buffer | null>;
  /** Whether ingress answers its health check with 200. */
  healthy(): Promise<boolean>;
  receiver: Awaited<ReturnType<typeof startReceiver>>;
  /** Every log line written so far. */
  logLines(): string[];
}

/**
 * Sends ordinary, hostile, ordinary, hostile, … on one ordering key and checks each outcome.
 * The integration must be `acme`, HMAC_SHA256 with `secret`, eventKeyPath `$.id`,
 * orderingKeyPath `$.order`, and one destination that posts to `receiver`.
 */
export async function runHostileCorpus(target: CorpusTarget, secret: string): Promise<void> {
  const canary = `CANARY${randomBytes(6).toString('hex')}`;
  const send = async (body: string | Buffer) => postWebhook(target.ingressUrl, 'acme', body, { 'x-acme-signature': `sha256=${hexHmac(secret, body)}` });
  const ordinaries: string[] = [];
  const stored: { name: string; eventId: string; body: string | Buffer }[] = [];
  let index = 0;
  const ordinary = async () => {
    const response = await send(JSON.stringify({ id: `ordinary-${canary}-${index++}`, order: ORDER }));
    expect(response.status).toBe(202);
    ordinaries.push(response.body.eventId as string);
  };

  await ordinary();
  for (const item of hostileCorpus(canary)) {
    const response = await send(item.body);
    if (item.expect === 'refused') {
      expect(response.status, item.name).toBeGreaterThanOrEqual(400);
      expect(response.status, item.name).toBeLessThan(500);
    } else {
      expect(response.status, item.name).toBe(202);
      stored.push({ name: item.name, eventId: response.body.eventId as string, body: item.body });
    }
    await ordinary();
    // The ordinary webhook after it is stored within seconds: the hostile one did not stop the partition.
    const after = ordinaries[ordinaries.length - 1]!;
    await eventually(async () => ((await target.storedBody(after)) ? true : undefined), 10_000, 50);
  }

  for (const item of stored) {
    const bytes = await eventually(() => target.storedBody(item.eventId).then((body) => body ?? undefined), 10_000, 50);
    expect(bytes.equals(Buffer.from(item.body)), `${item.name} stored byte for byte`).toBe(true);
  }
  await eventually(
    async () => (stored.every((item) => target.receiver.received.some((request) => request.headers['webhook-id'] === item.eventId)) ? true : undefined),
    30_000,
    100,
  );
  for (const item of stored) {
    const delivered = target.receiver.received.find((request) => request.headers['webhook-id'] === item.eventId)!;
    expect(delivered.rawBody.equals(Buffer.from(item.body)), `${item.name} delivered byte for byte`).toBe(true);
  }
  expect(await target.healthy()).toBe(true);
  const leaking = target.logLines().filter((line) => line.includes(canary));
  expect(leaking, 'log lines quoting a body').toEqual([]);
}
