import { lexicographicSortSchema, type GraphQLSchema } from 'graphql';
import { builder } from '../builder.js';
import './scalars.js';
import './errors.js';
import './destination.js';
import './destination-health.js';
import './integration.js';
import './event.js';
import './delivery.js';
import './audit.js';
import './replay.js';
import './status.js';
import './subscriptions.js';
import './viewer.js';

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});

let schema: GraphQLSchema | undefined;

/** Built once per process; the schema is pure code. */
export function buildSchema(): GraphQLSchema {
  schema ??= lexicographicSortSchema(builder.toSchema());
  return schema;
}
