import { describe, expect, it } from 'vitest';
import { createDependencyState } from '../../src/consumers/dependency-state.js';
import { createLogger } from '../../src/log.js';

function capture() {
  const lines: { level: string; msg: string; failedAttempts?: number; code?: string }[] = [];
  const log = createLogger({ level: 'debug', write: (line) => void lines.push(JSON.parse(line) as (typeof lines)[number]) });
  return { log, lines };
}

describe('dependency state', () => {
  it('logs one line when a dependency goes and one when it is back, however many attempts fail between', () => {
    const { log, lines } = capture();
    let clock = 0;
    const state = createDependencyState(log, 'database', 'paused', () => clock);
    for (let i = 0; i < 50; i++) state.unavailable(Object.assign(new Error('read ECONNRESET with a value in it'), { code: 'ECONNRESET' }), state.attempt());
    clock = 4000;
    state.available();
    state.available();
    expect(lines.map((line) => [line.level, line.msg])).toEqual([
      ['warn', 'database unavailable; paused'],
      ['warn', 'database available again'],
    ]);
    expect(lines[0]!.code).toBe('ECONNRESET');
    expect(JSON.stringify(lines)).not.toContain('with a value in it');
    expect(lines[1]).toMatchObject({ failedAttempts: 50, outageMs: 4000 });
  });

  it('does not open a new outage for an attempt that began before the dependency came back', () => {
    const { log, lines } = capture();
    const state = createDependencyState(log, 'database', 'paused');
    state.unavailable(new Error('down'), state.attempt());
    const inFlight = state.attempt();
    state.available();
    state.unavailable(new Error('stale'), inFlight);
    expect(lines).toHaveLength(2);
    state.unavailable(new Error('down again'), state.attempt());
    expect(lines).toHaveLength(3);
  });
});
