import type { Config } from '../config.js';
import { DataDirBusyError } from '../db/data-dir-lock.js';
import { CommandFailed, UsageError, type CliContext } from './context.js';
import type { Command } from './output.js';

/**
 * The CLI's frame: global flags (`--json`, `-h`, `--version`), dispatch, and the one place an
 * error is printed — once, as one `hookgate: …` line, mapped to the documented exit code.
 */
export const EXIT = { ok: 0, refused: 1, usage: 2 } as const;

function globalUsage(commands: Command[]): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return `usage: hookgate <command> [options]

${commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n')}

options (every command):
  --json          print the answer as JSON (for scripts) instead of a table
  -h, --help      help for a command: hookgate <command> -h
  --version       print the version

exit codes: 0 done, 1 the server refused or could not be reached, 2 bad usage
Commands other than start, migrate and secrets talk to a running gateway's GraphQL API
(MANAGEMENT_PORT, with MANAGEMENT_API_KEY or the key in the data folder).
`;
}

export async function runCommand(
  commands: Command[],
  argv: string[],
  env: Record<string, string | undefined>,
  deps: { version(): string; config(env: Record<string, string | undefined>): Config; out?(text: string): void; err?(text: string): void },
): Promise<number> {
  const out = deps.out ?? ((text: string) => void process.stdout.write(text));
  const err = deps.err ?? ((text: string) => void process.stderr.write(text));
  // Global flags may stand anywhere before a `--`.
  const end = argv.includes('--') ? argv.indexOf('--') : argv.length;
  const before = argv.slice(0, end);
  const json = before.includes('--json');
  const help = before.some((arg) => arg === '-h' || arg === '--help');
  const args = [...before.filter((arg) => arg !== '--json' && arg !== '-h' && arg !== '--help'), ...argv.slice(end)];
  const [name, ...rest] = args;

  if (name === '--version' || name === '-V' || name === 'version') {
    out(json ? `${JSON.stringify({ version: deps.version() })}\n` : `hookgate ${deps.version()}\n`);
    return EXIT.ok;
  }
  if (name === undefined || name === 'help') {
    const topic = commands.find((command) => command.name === rest[0]);
    out(topic ? topic.usage : globalUsage(commands));
    return EXIT.ok;
  }
  const command = commands.find((candidate) => candidate.name === name);
  if (!command) {
    err(`hookgate: unknown command "${name}"; commands: ${commands.map((candidate) => candidate.name).join(', ')} (see \`hookgate -h\`)\n`);
    return EXIT.usage;
  }
  if (help) {
    out(command.usage);
    return EXIT.ok;
  }
  try {
    const ctx: CliContext = { cfg: deps.config(env), env, json, out };
    await command.run(ctx, rest);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof UsageError || error instanceof DataDirBusyError) {
      err(`hookgate: ${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof CommandFailed) {
      err(`hookgate: ${error.message}\n`);
      return EXIT.refused;
    }
    // Unexpected: the message once, never a stack or a dump of bundled code.
    const message = error instanceof Error ? error.message : String(error);
    err(`hookgate: ${command.name} failed: ${message.slice(0, 500)}\n`);
    return EXIT.refused;
  }
}
