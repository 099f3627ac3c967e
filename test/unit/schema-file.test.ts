import { readFileSync } from 'node:fs';
import { printSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSchema } from '../../src/graph/schema/index.js';

describe('schema.graphql', () => {
  it('matches the schema the code builds (run `npm run schema:print` after changing the API)', () => {
    const committed = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(`${printSchema(buildSchema())}\n`);
  });

  it('exposes no field that could carry a secret', () => {
    const printed = printSchema(buildSchema());
    const outputTypes = printed.split(/\n(?=type |input |enum |union |interface |scalar )/).filter((block) => block.startsWith('type '));
    for (const block of outputTypes) expect(block, block.split('\n')[0]).not.toMatch(/^\s+(secret|previousSecret|signature|apiKey)\b/m);
  });
});
