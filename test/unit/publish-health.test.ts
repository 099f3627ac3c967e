import { describe, expect, it } from 'vitest';
import { createPublishHealth } from '../../src/ports/publish-health.js';

describe('publish health', () => {
  it('is not publishing while sends fail, and is again after the first send that works', () => {
    let now = 0;
    const health = createPublishHealth({ recentMs: 5_000, now: () => now });
    expect(health.publishing()).toBe(true);
    for (let i = 0; i < 100; i++) {
      now += 10;
      health.failed();
    }
    expect(health.publishing()).toBe(false);
    now += 2_000;
    expect(health.publishing()).toBe(false);
    health.succeeded();
    expect(health.publishing()).toBe(true);
  });

  it('reports publishing again once no send has failed for a while (an idle ingress after an outage)', () => {
    let now = 0;
    const health = createPublishHealth({ recentMs: 5_000, now: () => now });
    health.failed();
    now += 4_999;
    expect(health.publishing()).toBe(false);
    now += 1;
    expect(health.publishing()).toBe(true);
  });
});
