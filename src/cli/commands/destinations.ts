import { generateDestinationSecret } from '../../consumers/outbound-signature.js';
import { ERROR_FIELDS, UsageError, expectType, graphql, integrationId, type CliContext } from '../context.js';
import { flags, positiveInt, printJson, required, table, type Command } from '../output.js';

/**
 * Destination settings as flags. Each row maps one flag to one field of AddDestinationInput /
 * UpdateDestinationInput, so a new destination field is one more line here (and in the usage).
 */
type FieldKind = 'string' | 'boolean' | 'int' | 'list' | 'headers';
const DESTINATION_FIELDS: { flag: string; field: string; kind: FieldKind }[] = [
  { flag: 'url', field: 'url', kind: 'string' },
  { flag: 'ordered', field: 'ordered', kind: 'boolean' },
  { flag: 'event-type', field: 'eventTypes', kind: 'list' },
  { flag: 'header', field: 'headers', kind: 'headers' },
  { flag: 'max-per-second', field: 'maxPerSecond', kind: 'int' },
  { flag: 'max-concurrency', field: 'maxConcurrency', kind: 'int' },
  { flag: 'park-after-failures', field: 'parkAfterFailures', kind: 'int' },
  { flag: 'park-window-seconds', field: 'parkWindowSeconds', kind: 'int' },
  { flag: 'disable-after-parked-seconds', field: 'disableAfterParkedSeconds', kind: 'int' },
];

const USAGE = `usage: hookgate destinations <list|add|update|disable|rotate-secret|park|unpark> [options]

  destinations list <integration>              an integration's destinations (provider or id)
  destinations add <integration> --url URL [policies]
                                               a new destination; its signing secret (whsec_…) is
                                               generated and printed this once
  destinations update <destination-id> [--url URL] [policies] [--enable]
  destinations disable <destination-id> --reason TEXT
  destinations rotate-secret <destination-id> [--previous-ttl-seconds N]
                                               a new signing secret, printed this once; the old one
                                               keeps signing too for N s (default 86400)
  destinations park <destination-id> --reason TEXT     only probes until unparked
  destinations unpark <destination-id> --reason TEXT   drain its backlog now

  policies: --ordered | --no-ordered, --event-type T (repeatable or a,b; "order.*" wildcards),
            --header "Name: value" (repeatable; write-only, replaces the set), --max-per-second N,
            --max-concurrency N, --park-after-failures N, --park-window-seconds N,
            --disable-after-parked-seconds N
`;

const DESTINATION_FIELDS_SELECTION = 'id integrationId url enabled ordered disabledReason health eventTypes headerNames maxPerSecond maxConcurrency backlog';
type Destination = {
  id: string;
  integrationId: string;
  url: string;
  enabled: boolean;
  ordered: boolean;
  disabledReason: string | null;
  health: string;
  eventTypes: string[];
  headerNames: string[];
  maxPerSecond: number | null;
  maxConcurrency: number | null;
  backlog: number;
};
const COLUMNS: (keyof Destination)[] = ['id', 'url', 'health', 'enabled', 'eventTypes', 'backlog', 'disabledReason'];
type Result = Partial<Destination> & { __typename: string; message?: string };

function fieldOptions() {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {};
  for (const { flag, kind } of DESTINATION_FIELDS) options[flag] = kind === 'boolean' ? { type: 'boolean' } : { type: 'string', multiple: kind === 'headers' || kind === 'list' };
  return options;
}

function fieldValues(values: Record<string, unknown>, command: string): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const { flag, field, kind } of DESTINATION_FIELDS) {
    const value = values[flag];
    if (value === undefined) continue;
    if (kind === 'int') input[field] = positiveInt(value as string, `--${flag}`, command);
    else if (kind === 'list') input[field] = (value as string[]).flatMap((item) => item.split(',')).map((item) => item.trim()).filter(Boolean);
    else if (kind === 'headers') {
      input[field] = (value as string[]).map((pair) => {
        const at = pair.indexOf(':');
        // The value is write-only: the message names the flag, never what was typed.
        if (at < 1) throw new UsageError(`${command}: --${flag} takes "Name: value"`);
        return { name: pair.slice(0, at).trim(), value: pair.slice(at + 1).trim() };
      });
    } else input[field] = value;
  }
  return input;
}

async function mutate(ctx: CliContext, mutation: string, inputType: string, input: Record<string, unknown>, command: string): Promise<Destination> {
  const data = await graphql<Record<string, Result>>(
    ctx.cfg,
    `mutation ($input: ${inputType}!) { ${mutation}(input: $input) { ${ERROR_FIELDS} ... on Destination { ${DESTINATION_FIELDS_SELECTION} } } }`,
    { input },
  );
  return expectType(data[mutation]!, 'Destination', command) as Destination;
}

function print(ctx: CliContext, destination: Destination, secret?: string) {
  if (ctx.json) return printJson(ctx, secret ? { ...destination, secret } : destination);
  ctx.out(table([destination], COLUMNS));
  if (secret) ctx.out(`\nsigning secret (shown only this once; receivers verify webhook-signature with it):\n${secret}\n`);
}

async function list(ctx: CliContext, args: string[]) {
  const { positionals } = flags(args, {}, 'destinations list');
  const id = await integrationId(ctx.cfg, required(positionals[0], 'the integration (provider or id)', 'destinations list'));
  const data = await graphql<{ integration: { destinations: Destination[] } }>(ctx.cfg, `query ($id: ID) { integration(id: $id) { destinations { ${DESTINATION_FIELDS_SELECTION} } } }`, { id });
  if (ctx.json) return printJson(ctx, data.integration.destinations);
  ctx.out(table(data.integration.destinations, COLUMNS));
}

async function add(ctx: CliContext, args: string[]) {
  const command = 'destinations add';
  const { values, positionals } = flags(args, fieldOptions(), command);
  const integration = required(positionals[0], 'the integration (provider or id)', command);
  required(values.url as string | undefined, '--url', command);
  const secret = generateDestinationSecret();
  const input = { integrationId: await integrationId(ctx.cfg, integration), ...fieldValues(values, command), secret };
  print(ctx, await mutate(ctx, 'addDestination', 'AddDestinationInput', input, command), secret);
}

async function update(ctx: CliContext, args: string[]) {
  const command = 'destinations update';
  const { values, positionals } = flags(args, { ...fieldOptions(), enable: { type: 'boolean' } }, command);
  const id = required(positionals[0], 'the destination id', command);
  const input: Record<string, unknown> = { id, ...fieldValues(values, command) };
  if (values.enable !== undefined) input.enabled = values.enable;
  if (Object.keys(input).length === 1) throw new UsageError(`${command}: nothing to change (see \`hookgate destinations -h\`)`);
  print(ctx, await mutate(ctx, 'updateDestination', 'UpdateDestinationInput', input, command));
}

async function disable(ctx: CliContext, args: string[]) {
  const command = 'destinations disable';
  const { values, positionals } = flags(args, { reason: { type: 'string' } }, command);
  const id = required(positionals[0], 'the destination id', command);
  print(ctx, await mutate(ctx, 'disableDestination', 'DisableDestinationInput', { id, reason: required(values.reason, '--reason', command) }, command));
}

async function rotateSecret(ctx: CliContext, args: string[]) {
  const command = 'destinations rotate-secret';
  const { values, positionals } = flags(args, { 'previous-ttl-seconds': { type: 'string' } }, command);
  const id = required(positionals[0], 'the destination id', command);
  const secret = generateDestinationSecret();
  const input: Record<string, unknown> = { id, secret };
  const ttl = values['previous-ttl-seconds'] as string | undefined;
  if (ttl !== undefined) input.previousSecretTtlSeconds = ttl === '0' ? 0 : positiveInt(ttl, '--previous-ttl-seconds', command);
  print(ctx, await mutate(ctx, 'rotateDestinationSecret', 'RotateDestinationSecretInput', input, command), secret);
}

async function parking(ctx: CliContext, args: string[], park: boolean) {
  const command = `destinations ${park ? 'park' : 'unpark'}`;
  const { values, positionals } = flags(args, { reason: { type: 'string' } }, command);
  const id = required(positionals[0], 'the destination id', command);
  const mutation = park ? 'parkDestination' : 'unparkDestination';
  print(ctx, await mutate(ctx, mutation, park ? 'ParkDestinationInput' : 'UnparkDestinationInput', { id, reason: required(values.reason as string | undefined, '--reason', command) }, command));
}

export const destinationsCommand: Command = {
  name: 'destinations',
  summary: 'add, update, disable, park or unpark a destination, rotate its signing secret',
  usage: USAGE,
  async run(ctx, [sub, ...rest]) {
    if (sub === 'list') return list(ctx, rest);
    if (sub === 'add') return add(ctx, rest);
    if (sub === 'update') return update(ctx, rest);
    if (sub === 'disable') return disable(ctx, rest);
    if (sub === 'rotate-secret') return rotateSecret(ctx, rest);
    if (sub === 'park') return parking(ctx, rest, true);
    if (sub === 'unpark') return parking(ctx, rest, false);
    throw new UsageError('destinations: use list, add, update, disable, rotate-secret, park or unpark (see `hookgate destinations -h`)');
  },
};
