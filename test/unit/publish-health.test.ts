import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/log.js';
import { createPublishHealth } from '../../src/ports/publish-health.js';

function recordingLogger() {
  const lines: { level: string; msg: string; data: Record<string, unknown> }[] = [];
  const at = (level: string) => (data: Record<string, unknown>, msg: string) => lines.push({ level, msg, data });
  const log = { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } as unknown as Logger;
  return { log, lines };
}

describe('publish health', () => {
  it('is not publishing while sends fail, and logs the outage once with its cost', () => {
    let now = 0;
    const { log, lines } = recordingLogger();
    const health = createPublishHealth({ log, recentMs: 5_000, now: () => now });
    expect(health.publishing()).toBe(true);
    for (let i = 0; i < 100; i++) {
      now += 10;
      health.failed('KafkaJSConnectionError');
    }
    expect(health.publishing()).toBe(false);
    now += 2_000;
    health.succeeded();
    expect(health.publishing()).toBe(true);
    expect(lines.map((line) => line.level)).toEqual(['warn', 'info']);
    expect(lines[1]!.data).toMatchObject({ failedPublishes: 100 });
  });

  it('reports publishing again once no send has failed for a while (an idle ingress after an outage)', () => {
    let now = 0;
    const { log } = recordingLogger();
    const health = createPublishHealth({ log, recentMs: 5_000, now: () => now });
    health.failed('SendTimeoutError');
    now += 4_999;
    expect(health.publishing()).toBe(false);
    now += 1;
    expect(health.publishing()).toBe(true);
  });
});
