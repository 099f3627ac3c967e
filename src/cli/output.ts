import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError, type CliContext } from './context.js';

/** How commands read their flags and print their answers: human tables, or `--json`. */

export interface Command {
  /** e.g. `events`: the first word on the command line. */
  name: string;
  summary: string;
  /** Printed by `hookgate <name> -h`. */
  usage: string;
  run(ctx: CliContext, args: string[]): Promise<void>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Strict flag parsing: an unknown flag or a missing value is a usage error naming the command's help. */
export function flags<O extends Options>(args: string[], options: O, command: string) {
  try {
    // `--no-<flag>` for boolean flags, by hand: parseArgs's allowNegative needs Node 20.16.
    const negated = new Set<string>();
    const rest = args.filter((arg) => {
      const name = /^--no-(.+)$/.exec(arg)?.[1];
      if (name === undefined || options[name]?.type !== 'boolean') return true;
      negated.add(name);
      return false;
    });
    const parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
    for (const name of negated) (parsed.values as Record<string, unknown>)[name] = false;
    return parsed;
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(`${command}: ${message} (see \`hookgate ${command.split(' ')[0]} -h\`)`);
  }
}

export function required(value: string | undefined, flag: string, command: string): string {
  if (value === undefined || value === '') throw new UsageError(`${command}: ${flag} is required (see \`hookgate ${command.split(' ')[0]} -h\`)`);
  return value;
}

export function positiveInt(value: string | undefined, flag: string, command: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new UsageError(`${command}: ${flag} must be a whole number, not "${value}"`);
  return number;
}

/** One of a fixed list (case-insensitive), named in the error so the user sees every choice. */
export function oneOf<T extends string>(value: string | undefined, choices: readonly T[], flag: string, command: string): T | undefined {
  if (value === undefined) return undefined;
  const upper = value.toUpperCase() as T;
  if (!choices.includes(upper)) throw new UsageError(`${command}: ${flag} must be one of ${choices.join(', ')}, not "${value}"`);
  return upper;
}

export function jsonArgument(value: string | undefined, flag: string, command: string): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw new UsageError(`${command}: ${flag} must be JSON, e.g. '{"customer":{"id":"cus_123"}}'`);
  }
}

/** ISO-8601 timestamps only, checked here so the server never has to quote the value back. */
export function timestamp(value: string | undefined, flag: string, command: string): string | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new UsageError(`${command}: ${flag} must be a timestamp such as 2026-12-01T09:00:00Z, not "${value}"`);
  return date.toISOString();
}

export function printJson(ctx: CliContext, value: unknown): void {
  ctx.out(`${JSON.stringify(value, null, 2)}\n`);
}

/** `2026-12-03T17:45:54.123Z` → `2026-12-03 17:45:54`: tables are for reading, `--json` keeps the exact value. */
export function shortTime(value: string | null | undefined): string {
  return value ? value.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '-';
}

export function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return '(none)\n';
  const cells = rows.map((row) => columns.map((column) => (row[column] === null || row[column] === undefined ? '-' : String(row[column]))));
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((line) => line[i]!.length)));
  const line = (values: string[]) => `${values.map((value, i) => (i === values.length - 1 ? value : value.padEnd(widths[i]!))).join('  ')}\n`;
  return line(columns.map((column) => column.toUpperCase())) + cells.map(line).join('');
}

/** The line under a table that says how to get the next page. */
export function nextPage(ctx: CliContext, pageInfo: { hasNextPage: boolean; endCursor: string | null }, command: string): void {
  if (pageInfo.hasNextPage && pageInfo.endCursor) ctx.out(`more: hookgate ${command} --after ${pageInfo.endCursor}\n`);
}
