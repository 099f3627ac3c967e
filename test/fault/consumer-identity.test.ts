import { Kafka, logLevel } from 'kafkajs';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, startTestApp, type TestApp } from '../helpers/app.js';
import { kafkaBroker } from '../helpers/processes.js';
import { secretFor, signers } from '../helpers/providers.js';
import { describeWithServices } from '../helpers/services.js';
import { postWebhook } from '../helpers/signing.js';

/**
 * Issue 9 item 3: a broker restart must leave no stale member in the persist group. A consumer
 * that crashes and comes back as a new member leaves its old member in the group the broker
 * reloads, and the rebalance then waits out that member's whole session timeout
 * (src/ports/consumer-membership.ts).
 */
describeWithServices('persist consumer leaves no stale group member through broker restarts', ['kafka', 'postgres', 'redis'], () => {
  let app: TestApp;
  let sql: postgres.Sql;
  let brokerStopped = false;
  const lines: { msg: string; memberId?: string; component?: string; err?: string }[] = [];
  const secret = secretFor('HMAC_SHA256');

  const send = async (label: string) => {
    const body = JSON.stringify({ id: `${label}-${crypto.randomUUID()}` });
    return postWebhook(app.ingressUrl, 'acme', body, await signers.HMAC_SHA256!(body, secret));
  };
  const stored = async (eventId: string) => {
    const [row] = await sql<{ count: number }[]>`select count(*)::int as count from events where id = ${eventId}::uuid`;
    return row!.count === 1;
  };

  beforeAll(async () => {
    app = await startTestApp(
      { HOOKGATE_ROLE: 'ingress,persist,graph', LOG_LEVEL: 'debug' },
      { logWrite: (line) => void lines.push(JSON.parse(line) as (typeof lines)[number]) },
    );
    sql = postgres(app.database.url, { max: 2 });
    await app.graphql(`mutation ($input: CreateIntegrationInput!) { createIntegration(input: $input) { __typename } }`, {
      input: { provider: 'acme', name: 'Acme', verification: { scheme: 'HMAC_SHA256', secret }, rateLimitPerMinute: 100_000 },
    });
  });

  afterAll(async () => {
    if (brokerStopped) await kafkaBroker('start');
    await sql?.end();
    await app?.stop();
  });

  it('stores again within 5 s of the broker answering after each of two restarts, and the group holds one member', async () => {
    const first = await send('before');
    expect(first.status).toBe(202);
    await eventually(async () => ((await stored(first.body.eventId as string)) ? true : undefined), 30_000, 100);

    for (const round of [1, 2]) {
      // The consumer is busy when the broker goes: fetches, batches and commits in flight.
      let sending = true;
      const load = (async () => {
        while (sending) await Promise.all(Array.from({ length: 8 }, () => send(`load-${round}`)));
      })();
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      await kafkaBroker('stop');
      sending = false;
      await load;
      brokerStopped = true;
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      await kafkaBroker('start');
      brokerStopped = false;
      // The script returns once the broker answers; from here the clock runs.
      const back = Date.now();
      const accepted = await eventually(
        async () => {
          const response = await send(`after-${round}`);
          return response.status === 202 ? (response.body.eventId as string) : undefined;
        },
        30_000,
        100,
      );
      await eventually(async () => ((await stored(accepted)) ? true : undefined), 30_000, 100);
      expect(Date.now() - back, `round ${round}: first event stored after the broker answered`).toBeLessThan(5_000);
    }

    // However the consumer came back (the same member, or a new one that removed its old one),
    // the group holds exactly one member: nothing stale for the next rebalance to wait for.
    const admin = new Kafka({ clientId: 'identity-test', brokers: app.config.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const { groups } = await admin.describeGroups([app.config.kafka.consumerGroup]);
      expect(groups[0]!.members.length, 'members of the persist group').toBe(1);
    } finally {
      await admin.disconnect();
    }
    const left = lines.filter((line) => line.msg.startsWith("this consumer's previous group member left"));
    const joins = lines.filter((line) => line.component === 'kafkajs' && line.msg === 'Consumer has joined the group');
    // Every fresh join after the first removed the member before it.
    expect(new Set(joins.map((line) => line.memberId)).size - 1).toBeLessThanOrEqual(left.length);
    expect(lines.filter((line) => line.msg.startsWith('kafka consumer stopped after an error'))).toEqual([]);
  });
});
