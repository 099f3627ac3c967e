import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import type { GraphContext } from './context.js';
import { ForbiddenError } from './errors.js';

export const builder = new SchemaBuilder<{
  Context: GraphContext;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
}>({
  plugins: [ErrorsPlugin, RelayPlugin],
  defaultFieldNullability: false,
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    // Ids are plain UUIDs that match the ingress response; no global Node ids.
    nodeQueryOptions: false,
    nodesQueryOptions: false,
  },
  // Every mutation's result union can answer ForbiddenError (read-only keys, see read-only.ts).
  errors: { directResult: true, defaultTypes: [ForbiddenError] },
});
