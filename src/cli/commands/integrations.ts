import { randomBytes } from 'node:crypto';
import { SUPPORTED_SCHEMES } from '../../ingress/schemes/index.js';
import { ERROR_FIELDS, UsageError, expectType, graphql, integrationId, type CliContext } from '../context.js';
import { flags, nextPage, oneOf, positiveInt, printJson, required, shortTime, table, type Command } from '../output.js';

const USAGE = `usage: hookgate integrations <list|create|rotate-secret> [options]

  integrations list [--first N] [--after CURSOR]
  integrations create --provider P --name N --scheme SCHEME --secret S
                      [--header H] [--event-key-path $.id] [--event-type-path $.type] [--destination URL]...
  integrations rotate-secret <provider|id> [--secret S] [--previous-ttl SECONDS]
                      the new signing secret (generated and printed this once when --secret is omitted);
                      the old one keeps verifying for --previous-ttl seconds (default 86400)

  schemes: ${SUPPORTED_SCHEMES.join(', ')}
`;

type IntegrationRow = { id: string; provider: string; name: string; enabled: boolean; verification: { scheme: string }; destinations: { url: string; enabled: boolean }[] };

async function list(ctx: CliContext, args: string[]) {
  const { values } = flags(args, { first: { type: 'string' }, after: { type: 'string' } }, 'integrations list');
  type Page = { integrations: { edges: { node: IntegrationRow }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };
  const data = await graphql<Page>(
    ctx.cfg,
    `query ($first: Int, $after: String) { integrations(first: $first, after: $after) {
       edges { node { id provider name enabled verification { scheme } destinations { url enabled } } } pageInfo { hasNextPage endCursor } } }`,
    { first: positiveInt(values.first, '--first', 'integrations list') ?? 50, after: values.after },
  );
  if (ctx.json) return printJson(ctx, data.integrations);
  const rows = data.integrations.edges.map(({ node }) => ({
    ...node,
    scheme: node.verification.scheme,
    enabled: node.enabled ? 'yes' : 'no',
    destinations: node.destinations.map((destination) => `${destination.url}${destination.enabled ? '' : ' (disabled)'}`).join(', ') || '-',
  }));
  ctx.out(table(rows, ['provider', 'scheme', 'enabled', 'id', 'name', 'destinations']));
  nextPage(ctx, data.integrations.pageInfo, 'integrations list');
}

async function create(ctx: CliContext, args: string[]) {
  const command = 'integrations create';
  const { values } = flags(
    args,
    {
      provider: { type: 'string' },
      name: { type: 'string' },
      scheme: { type: 'string' },
      secret: { type: 'string' },
      header: { type: 'string' },
      'event-key-path': { type: 'string' },
      'event-type-path': { type: 'string' },
      destination: { type: 'string', multiple: true },
    },
    command,
  );
  const scheme = oneOf(required(values.scheme, '--scheme', command), SUPPORTED_SCHEMES, '--scheme', command);
  const input = {
    provider: required(values.provider, '--provider', command),
    name: required(values.name, '--name', command),
    verification: { scheme, secret: required(values.secret, '--secret', command), header: values.header, eventKeyPath: values['event-key-path'], eventTypePath: values['event-type-path'] },
    destinations: (values.destination ?? []).map((url) => ({ url })),
  };
  type Result = { __typename: string; message?: string; id?: string; provider?: string; createdAt?: string };
  const data = await graphql<{ createIntegration: Result }>(
    ctx.cfg,
    `mutation ($input: CreateIntegrationInput!) { createIntegration(input: $input) { ${ERROR_FIELDS} ... on Integration { id provider createdAt } } }`,
    { input },
  );
  const result = expectType(data.createIntegration, 'Integration', command);
  if (ctx.json) return printJson(ctx, result);
  ctx.out(`created ${result.provider} (${result.id})\n`);
}

/** A secret for the provider's side: Standard Webhooks wants whsec_ + base64, the others take any long random string. */
function generatedSecret(scheme: string): string {
  return scheme === 'STANDARD_WEBHOOKS' ? `whsec_${randomBytes(32).toString('base64')}` : randomBytes(32).toString('hex');
}

async function rotateSecret(ctx: CliContext, args: string[]) {
  const command = 'integrations rotate-secret';
  const { values, positionals } = flags(args, { secret: { type: 'string' }, 'previous-ttl': { type: 'string' } }, command);
  const id = await integrationId(ctx.cfg, required(positionals[0], 'the integration (provider or id)', command));
  const { integration } = await graphql<{ integration: { verification: { scheme: string } } }>(ctx.cfg, 'query ($id: ID) { integration(id: $id) { verification { scheme } } }', { id });
  const secret = values.secret ?? generatedSecret(integration.verification.scheme);
  type Result = { __typename: string; message?: string; id?: string; provider?: string; secretRotatedAt?: string; previousSecretExpiresAt?: string | null };
  const data = await graphql<{ rotateIntegrationSecret: Result }>(
    ctx.cfg,
    `mutation ($input: RotateIntegrationSecretInput!) { rotateIntegrationSecret(input: $input) { ${ERROR_FIELDS}
       ... on Integration { id provider secretRotatedAt previousSecretExpiresAt } } }`,
    { input: { id, secret, previousSecretTtlSeconds: positiveInt(values['previous-ttl'], '--previous-ttl', command) } },
  );
  const result = expectType(data.rotateIntegrationSecret, 'Integration', command);
  const generated = values.secret === undefined;
  if (ctx.json) return printJson(ctx, generated ? { ...result, secret } : result);
  ctx.out(`rotated the signing secret of ${result.provider}; the previous one verifies until ${shortTime(result.previousSecretExpiresAt)}\n`);
  if (generated) ctx.out(`\nnew signing secret (shown only this once; give it to the provider):\n${secret}\n`);
}

export const integrationsCommand: Command = {
  name: 'integrations',
  summary: 'list and create integrations, rotate a signing secret',
  usage: USAGE,
  async run(ctx, [sub, ...rest]) {
    if (sub === 'list') return list(ctx, rest);
    if (sub === 'create') return create(ctx, rest);
    if (sub === 'rotate-secret') return rotateSecret(ctx, rest);
    throw new UsageError('integrations: use list, create or rotate-secret (see `hookgate integrations -h`)');
  },
};
