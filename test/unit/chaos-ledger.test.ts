import { describe, expect, it } from 'vitest';
import { judgeLedger, type LedgerInput } from '../../scripts/chaos/ledger.js';

function healthyRun(): LedgerInput {
  const sent = new Map([
    ['evt_1', Buffer.from('{"id":"evt_1"}')],
    ['evt_2', Buffer.from('{"id":"evt_2"}')],
  ]);
  return {
    sent,
    accepted: new Map([
      ['evt_1', 'id-1'],
      ['evt_2', 'id-2'],
    ]),
    stored: new Map([
      ['id-1', sent.get('evt_1')!],
      ['id-2', sent.get('evt_2')!],
    ]),
    deliveries: new Map([
      ['id-1', 1],
      ['id-2', 1],
    ]),
    statuses: new Map([
      [202, 2],
      [503, 3],
    ]),
    violations: [],
    connectionErrors: 0,
    connectionErrorSamples: [],
    gaveUp: [],
    unexpectedExits: [],
    maxDuplicateRatio: 0.01,
  };
}

const failing = (input: LedgerInput) =>
  judgeLedger(input)
    .checks.filter((check) => !check.ok)
    .map((check) => check.name);

describe('chaos ledger', () => {
  it('passes a run where every 202 is stored byte for byte and delivered', () => {
    expect(judgeLedger(healthyRun()).ok).toBe(true);
  });

  it('fails on an accepted webhook that is not stored (a lost 202)', () => {
    const run = healthyRun();
    run.stored.delete('id-2');
    expect(failing(run)).toContain('ids answered 202 = rows stored: none missing');
  });

  it('fails on a stored event nobody was told was accepted', () => {
    const run = healthyRun();
    run.stored.set('id-3', Buffer.from('{}'));
    expect(failing(run)).toContain('ids answered 202 = rows stored: none extra');
  });

  it('fails on a body that differs by one byte', () => {
    const run = healthyRun();
    run.stored.set('id-1', Buffer.from('{"id":"evt_1" }'));
    expect(failing(run)).toEqual(['raw bodies byte-equal']);
  });

  it('fails on too many duplicate deliveries, a 500, or a 503 without Retry-After', () => {
    const run = healthyRun();
    run.deliveries.set('id-1', 2);
    run.statuses.set(500, 1);
    run.violations.push('503 without Retry-After');
    expect(failing(run)).toEqual(['duplicate deliveries ≤ 1%', 'only 202, 429 and 503 with Retry-After']);
  });
});
