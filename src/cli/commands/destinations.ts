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
];

const USAGE = `usage: hookgate destinations <list|add|update|disable|rotate-secret> [options]

  destinations list <integration>              an integration's destinations (provider or id)
  destinations add <integration> --url URL [--ordered]
                                               a new destination; its signing secret (whsec_…) is
                                               generated and printed this once
  destinations update <destination-id> [--url URL] [--ordered | --no-ordered] [--enable]
  destinations disable <destination-id> --reason TEXT
  destinations rotate-secret <destination-id>  a new signing secret, generated and printed this once
`;

const DESTINATION_FIELDS_SELECTION = 'id integrationId url enabled ordered disabledReason';
type Destination = { id: string; integrationId: string; url: string; enabled: boolean; ordered: boolean; disabledReason: string | null };
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
      input[field] = Object.fromEntries(
        (value as string[]).map((pair) => {
          const at = pair.indexOf(':');
          if (at < 1) throw new UsageError(`${command}: --${flag} takes "Name: value", not "${pair}"`);
          return [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
        }),
      );
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
  ctx.out(table([destination], ['id', 'url', 'enabled', 'ordered', 'disabledReason']));
  if (secret) ctx.out(`\nsigning secret (shown only this once; receivers verify webhook-signature with it):\n${secret}\n`);
}

async function list(ctx: CliContext, args: string[]) {
  const { positionals } = flags(args, {}, 'destinations list');
  const id = await integrationId(ctx.cfg, required(positionals[0], 'the integration (provider or id)', 'destinations list'));
  const data = await graphql<{ integration: { destinations: Destination[] } }>(ctx.cfg, `query ($id: ID) { integration(id: $id) { destinations { ${DESTINATION_FIELDS_SELECTION} } } }`, { id });
  if (ctx.json) return printJson(ctx, data.integration.destinations);
  ctx.out(table(data.integration.destinations, ['id', 'url', 'enabled', 'ordered', 'disabledReason']));
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
  const { positionals } = flags(args, {}, command);
  const id = required(positionals[0], 'the destination id', command);
  const secret = generateDestinationSecret();
  print(ctx, await mutate(ctx, 'updateDestination', 'UpdateDestinationInput', { id, secret }, command), secret);
}

export const destinationsCommand: Command = {
  name: 'destinations',
  summary: 'add, update, disable a destination, rotate its signing secret',
  usage: USAGE,
  async run(ctx, [sub, ...rest]) {
    if (sub === 'list') return list(ctx, rest);
    if (sub === 'add') return add(ctx, rest);
    if (sub === 'update') return update(ctx, rest);
    if (sub === 'disable') return disable(ctx, rest);
    if (sub === 'rotate-secret') return rotateSecret(ctx, rest);
    throw new UsageError('destinations: use list, add, update, disable or rotate-secret (see `hookgate destinations -h`)');
  },
};
