import { expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createOutageLog } from '../../src/outage-log.js';

it('logs one line when a dependency goes away and one with the count when it returns', () => {
  const lines: { level: string; msg: string; failures?: number }[] = [];
  let clock = 1000;
  const outage = createOutageLog(createLogger({ write: (line) => void lines.push(JSON.parse(line) as (typeof lines)[number]) }), 'rate limiter', {
    consequence: 'requests are allowed without a limit',
    now: () => clock,
  });
  outage.succeeded();
  for (let index = 0; index < 1000; index += 1) outage.failed(new Error('connection refused'));
  clock += 2500;
  outage.succeeded();
  outage.succeeded();
  outage.failed(new Error('again'));
  expect(lines.map((line) => [line.level, line.msg])).toEqual([
    ['warn', 'rate limiter unavailable; requests are allowed without a limit'],
    ['info', 'rate limiter available again after 1000 failures'],
    ['warn', 'rate limiter unavailable; requests are allowed without a limit'],
  ]);
  expect(lines[1]).toMatchObject({ failures: 1000, durationMs: 2500 });
});
