import { describe, expect, it } from 'vitest';
import { createRepeatFilter } from '../../src/ports/repeat-filter.js';

describe('repeat filter for noisy client logs', () => {
  it('lets the first line through, holds repeats for the window, then reports how many it held', () => {
    let now = 0;
    const admit = createRepeatFilter({ windowMs: 1_000, now: () => now });
    expect(admit('connection refused')).toEqual({ emit: true, repeated: 0 });
    for (let i = 0; i < 50; i++) expect(admit('connection refused').emit).toBe(false);
    expect(admit('another message').emit).toBe(true);
    now = 1_000;
    expect(admit('connection refused')).toEqual({ emit: true, repeated: 50 });
  });

  it('keeps its memory bounded however many distinct lines arrive', () => {
    let now = 0;
    const admit = createRepeatFilter({ windowMs: 10, maxKeys: 100, now: () => now });
    for (let i = 0; i < 10_000; i++) {
      now += 1;
      admit(`line ${i}`);
    }
    // Nothing to observe but that it did not grow without bound: a key seen long ago is new again.
    expect(admit('line 0')).toEqual({ emit: true, repeated: 0 });
  });
});
