import { wrapOrThrow } from '@pothos/plugin-errors';
import { getNamedType, GraphQLError, isUnionType, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import type { GraphContext } from './context.js';
import { ForbiddenError } from './errors.js';

const guarded = new WeakSet<GraphQLSchema>();

/**
 * Read-only keys (MANAGEMENT_READ_KEYS) query and subscribe; every mutation answers ForbiddenError
 * before its own resolver runs, on every transport (HTTP, SSE and WebSocket share the schema).
 * Wrapping the built schema means a mutation added later is covered without anyone remembering
 * to. Every mutation union carries ForbiddenError (builder: errors.defaultTypes); a mutation
 * without a union would get a GraphQL error with code FORBIDDEN instead.
 */
export function refuseMutationsToReadOnlyKeys(schema: GraphQLSchema): GraphQLSchema {
  if (guarded.has(schema)) return schema;
  guarded.add(schema);
  const mutation = schema.getMutationType();
  for (const field of Object.values(mutation?.getFields() ?? {})) {
    const type = getNamedType(field.type);
    const typed = isUnionType(type) && type.getTypes().some((member) => member.name === 'ForbiddenError');
    const resolve = field.resolve;
    if (!resolve) continue;
    field.resolve = ((source, args, context: GraphContext, info) => {
      if (!context.readOnly) return resolve(source, args, context, info);
      const refusal = new ForbiddenError(context.actor);
      // Wrapped the way the errors plugin wraps a thrown typed error, so the union resolves it.
      if (typed) return wrapOrThrow(refusal, [ForbiddenError]);
      throw new GraphQLError(refusal.message, { extensions: { code: 'FORBIDDEN' } });
    }) as GraphQLFieldResolver<unknown, GraphContext>;
  }
  return schema;
}
