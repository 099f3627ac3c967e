import { describe, expect, it } from 'vitest';
import { COMMANDS, version } from '../../src/cli/index.js';
import { config } from '../../src/cli/context.js';
import { runCommand } from '../../src/cli/run-command.js';
import { SUPPORTED_SCHEMES } from '../../src/ingress/schemes/index.js';

/** The CLI's frame without a server: help, version, usage errors and their exit codes, each printed once. */
async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCommand(COMMANDS, argv, { HOOKGATE_DATA_DIR: '/nonexistent/hookgate', MANAGEMENT_PORT: '1' }, { version, config, out: (text) => out.push(text), err: (text) => err.push(text) });
  return { code, out: out.join(''), err };
}

describe('the hookgate command line', () => {
  it('prints its version, and help listing every command and the exit codes', async () => {
    expect(await cli('--version')).toMatchObject({ code: 0, out: `hookgate ${version()}\n` });
    const help = await cli('-h');
    expect(help.code).toBe(0);
    for (const command of ['status', 'events', 'deliveries', 'replay', 'destinations', 'integrations', 'send', 'start', 'migrate']) expect(help.out).toContain(`  ${command} `);
    expect(help.out).toContain('exit codes: 0 done, 1 the server refused or could not be reached, 2 bad usage');
  });

  it('has -h on every command, and the integrations help lists the verification schemes', async () => {
    for (const command of COMMANDS) {
      const help = await cli(command.name, '-h');
      expect(help.code).toBe(0);
      expect(help.out).toMatch(new RegExp(`^usage: hookgate ${command.name}`));
    }
    expect((await cli('integrations', 'create', '--help')).out).toContain('schemes: HMAC_SHA256, SHARED_TOKEN, STRIPE, GITHUB, SHOPIFY, SLACK, STANDARD_WEBHOOKS');
  });

  it('refuses an unknown scheme with the list of schemes, once, exit 2', async () => {
    const result = await cli('integrations', 'create', '--provider', 'p', '--name', 'P', '--scheme', 'NOPE', '--secret', 's'.repeat(20));
    expect(result.code).toBe(2);
    expect(result.err).toEqual([`hookgate: integrations create: --scheme must be one of ${SUPPORTED_SCHEMES.join(', ')}, not "NOPE"\n`]);
    expect(SUPPORTED_SCHEMES.length).toBeGreaterThanOrEqual(30);
  });

  it('answers bad usage with exit 2 and one line naming the help to read', async () => {
    for (const argv of [['frob'], ['events', 'list', '--bogus'], ['events', 'show', 'not-an-id'], ['events'], ['deliveries', 'list', '--status', 'LOST'], ['events', 'replay', '00000000-0000-4000-8000-000000000000'], ['destinations', 'update', 'x']]) {
      const result = await cli(...argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.err, argv.join(' ')).toHaveLength(1);
      expect(result.err[0]).toMatch(/^hookgate: [^\n]+\n$/);
    }
  });

  it('says once, with exit 1, when no gateway answers', async () => {
    const result = await cli('status');
    expect(result.code).toBe(1);
    expect(result.err).toEqual(['hookgate: cannot reach Hookgate at http://127.0.0.1:1/api/v1/health: is it running (npx hookgate start)?\n']);
  });
});
