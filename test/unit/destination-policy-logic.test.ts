import { describe, expect, it } from 'vitest';
import { createDestinationGate, signalOf } from '../../src/consumers/destination-gate.js';
import { summariseOutcomes } from '../../src/consumers/destination-health.js';
import { matchesEventTypes } from '../../src/consumers/event-type-filter.js';
import { createMemoryCoordination } from '../../src/ports/memory-coordination.js';

describe('event-type filters', () => {
  it('match exact names and trailing wildcards; an empty filter takes everything, a typeless event only that or "*"', () => {
    expect(matchesEventTypes([], 'order.created')).toBe(true);
    expect(matchesEventTypes([], null)).toBe(true);
    expect(matchesEventTypes(['order.*'], 'order.created')).toBe(true);
    expect(matchesEventTypes(['order.*'], 'orders.created')).toBe(false);
    expect(matchesEventTypes(['order.created'], 'order.created.v2')).toBe(false);
    expect(matchesEventTypes(['invoice.paid', 'order.*'], 'invoice.paid')).toBe(true);
    expect(matchesEventTypes(['order.*'], null)).toBe(false);
    expect(matchesEventTypes(['*'], null)).toBe(true);
  });
});

describe('destination outcomes', () => {
  it('count failures after the last success per destination, in finishing order', () => {
    const lines = summariseOutcomes([
      { destinationId: 'a', ok: false, probe: false, pauseMs: 0 },
      { destinationId: 'a', ok: true, probe: false, pauseMs: 0 },
      { destinationId: 'a', ok: false, probe: false, pauseMs: 2000 },
      { destinationId: 'b', ok: false, probe: true, pauseMs: 0 },
    ]);
    expect(lines).toEqual([
      { destinationId: 'a', attempts: 3, failures: 2, trailingFailures: 1, succeeded: true, probed: false, pauseMs: 2000 },
      { destinationId: 'b', attempts: 1, failures: 1, trailingFailures: 1, succeeded: false, probed: true, pauseMs: 0 },
    ]);
  });
});

describe('adaptive concurrency window', () => {
  const delivery = (id: string) => ({ id, destinationId: 'd', maxConcurrency: null, maxPerSecond: null });

  it('starts at 2, doubles per round until an overload, halves once per round, then grows by about one per round', async () => {
    let clock = 0;
    const gate = createDestinationGate({ coordination: createMemoryCoordination(), workerConcurrency: 32, permitTtlMs: 10_000, now: () => clock });
    expect(await gate.admit(delivery('1'))).toEqual({ admitted: true });
    expect(await gate.admit(delivery('2'))).toEqual({ admitted: true });
    expect((await gate.admit(delivery('3'))).admitted).toBe(false);
    await gate.release(delivery('1'), 'success', clock);
    await gate.release(delivery('2'), 'success', clock);
    expect(gate.windowOf('d')).toBe(4);
    // Two overloads from the same round halve once.
    clock = 10;
    await gate.admit(delivery('4'));
    await gate.admit(delivery('5'));
    await gate.release(delivery('4'), 'overload', 5);
    await gate.release(delivery('5'), 'overload', 5);
    expect(gate.windowOf('d')).toBe(2);
    for (let i = 0; i < 3; i++) {
      await gate.admit(delivery(`s${i}`));
      await gate.release(delivery(`s${i}`), 'success', clock);
    }
    // Congestion avoidance: +1/window per success (2 → 2.5 → 2.9 → 3.24).
    expect(gate.windowOf('d')).toBe(3);
    gate.rampFromOne('d');
    expect(gate.windowOf('d')).toBe(1);
  });

  it('reads 429, 503, timeouts and refused or reset connections as overload', () => {
    expect(signalOf({ statusCode: 429 })).toBe('overload');
    expect(signalOf({ statusCode: 503 })).toBe('overload');
    expect(signalOf({ errorClass: 'TIMEOUT' })).toBe('overload');
    expect(signalOf({ errorClass: 'CONNECTION_REFUSED' })).toBe('overload');
    expect(signalOf({ statusCode: 500 })).toBe('neutral');
    expect(signalOf({ statusCode: 204 })).toBe('success');
  });
});
