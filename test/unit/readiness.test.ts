import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics.js';
import { createReadiness } from '../../src/observability/readiness.js';

describe('readiness', () => {
  it('asks the dependencies at most once per second, however many callers ask', async () => {
    let clock = 0;
    let asked = 0;
    let up = true;
    const readiness = createReadiness({ database: async () => ((asked += 1), up) }, { now: () => clock });
    const answers = await Promise.all(Array.from({ length: 50 }, () => readiness.check()));
    expect(asked).toBe(1);
    expect(answers.every((answer) => answer.status === 'ok')).toBe(true);
    up = false;
    clock = 999;
    expect((await readiness.check()).status).toBe('ok');
    expect(asked).toBe(1);
    clock = 1000;
    expect(await readiness.check()).toEqual({ status: 'degraded', dependencies: { database: 'down' } });
    expect(asked).toBe(2);
  });

  it('reads a throwing or hanging check as down', async () => {
    const readiness = createReadiness({ broken: () => Promise.reject(new Error('no')), hung: () => new Promise(() => {}) }, { timeoutMs: 50 });
    expect(await readiness.check()).toEqual({ status: 'degraded', dependencies: { broken: 'down', hung: 'down' } });
  });
});

describe('metric labels', () => {
  it('caps client-chosen operation names so a client cannot grow the series without bound', () => {
    const metrics = createMetrics({ defaultMetrics: false });
    expect(metrics.operationLabel(undefined)).toBe('(anonymous)');
    expect(metrics.operationLabel('has space')).toBe('(invalid)');
    for (let i = 0; i < 200; i++) expect(metrics.operationLabel(`Op${i}`)).toBe(`Op${i}`);
    expect(metrics.operationLabel('OneTooMany')).toBe('(other)');
    expect(metrics.operationLabel('Op7')).toBe('Op7');
  });
});
