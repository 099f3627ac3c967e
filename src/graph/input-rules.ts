import { wrapOrThrow } from '@pothos/plugin-errors';
import { getNamedType, GraphQLError, isObjectType, isUnionType, type GraphQLField, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { ValidationError, type FieldError } from './errors.js';
import { z } from 'zod';

/**
 * One rule for every string a client sends, on every field, applied before any resolver runs:
 * no NUL (Postgres refuses it, and the failed statement used to be logged with its parameters),
 * well-formed Unicode (no lone surrogates), and a bounded length. Each field's own schema then
 * adds its narrower rules. Wrapping the built schema, rather than each resolver, means a field
 * added later is covered without anyone remembering to.
 */
export const MAX_INPUT_STRING_LENGTH = 4096;
const MAX_INPUT_DEPTH = 12;
const MAX_REPORTED = 20;
// With the u flag a surrogate pair is one code point, so this matches only lone surrogates.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;
const wellFormed = (text: string) => !LONE_SURROGATE.test(text);

/** The problems with the strings in a value (any depth), by argument path. */
export function hostileStringProblems(value: unknown, path: string[], problems: FieldError[] = [], depth = 0): FieldError[] {
  if (problems.length >= MAX_REPORTED) return problems;
  if (typeof value === 'string') {
    if (value.includes('\u0000')) problems.push({ path, message: 'must not contain NUL characters' });
    else if (!wellFormed(value)) problems.push({ path, message: 'must be well-formed Unicode (no lone surrogates)' });
    else if (value.length > MAX_INPUT_STRING_LENGTH) problems.push({ path, message: `must be at most ${MAX_INPUT_STRING_LENGTH} characters` });
    return problems;
  }
  if (value === null || typeof value !== 'object' || value instanceof Date) return problems;
  if (depth >= MAX_INPUT_DEPTH) {
    problems.push({ path, message: `is nested more than ${MAX_INPUT_DEPTH} levels deep` });
    return problems;
  }
  for (const [key, inner] of Object.entries(value)) {
    if (!wellFormed(key) || key.includes('\u0000') || key.length > 256) {
      problems.push({ path, message: 'has a key that is not an acceptable name' });
      continue;
    }
    hostileStringProblems(inner, [...path, key], problems, depth + 1);
  }
  return problems;
}

function summary(problems: FieldError[]): string {
  return `invalid input: ${problems.map((problem) => `${problem.path.join('.')}: ${problem.message}`).join('; ')}`;
}

const guarded = new WeakSet<GraphQLSchema>();

function answersValidationError(field: GraphQLField<unknown, unknown>): boolean {
  const type = getNamedType(field.type);
  return isUnionType(type) && type.getTypes().some((member) => member.name === 'ValidationError');
}

function guardField(field: GraphQLField<unknown, unknown>): void {
  const typed = answersValidationError(field);
  const refuse = (args: Record<string, unknown>): ValidationError | GraphQLError | undefined => {
    const problems = hostileStringProblems(args, []);
    if (problems.length === 0) return undefined;
    // Mutations answer their typed ValidationError; other fields have no result union, so a
    // GraphQL error with the same field paths (never masked, never echoing the value).
    return typed ? new ValidationError(summary(problems), problems) : new GraphQLError(summary(problems), { extensions: { code: 'BAD_USER_INPUT', fieldErrors: problems } });
  };
  if (field.args.length === 0) return;
  const resolve = field.resolve;
  if (resolve) {
    field.resolve = ((source, args, context, info) => {
      const refusal = refuse(args);
      // Wrapped the way the errors plugin wraps a thrown typed error, so the union resolves it.
      if (refusal instanceof ValidationError) return wrapOrThrow(refusal, [ValidationError]);
      if (refusal) throw refusal;
      return resolve(source, args, context, info);
    }) as GraphQLFieldResolver<unknown, unknown>;
  }
  const subscribe = field.subscribe;
  if (subscribe) {
    field.subscribe = ((source, args, context, info) => {
      const refusal = refuse(args);
      if (refusal) throw refusal instanceof GraphQLError ? refusal : new GraphQLError(refusal.message, { extensions: { code: 'BAD_USER_INPUT', fieldErrors: refusal.fieldErrors } });
      return subscribe(source, args, context, info);
    }) as GraphQLFieldResolver<unknown, unknown>;
  }
}

/** Applies the input rule to every field with arguments, on every object type; idempotent. */
export function guardSchemaInputs(schema: GraphQLSchema): GraphQLSchema {
  if (guarded.has(schema)) return schema;
  guarded.add(schema);
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) guardField(field);
  }
  return schema;
}

/**
 * How long a replaced secret keeps working after a rotation (integrations: it still verifies;
 * destinations: deliveries carry its signature too). Default one day, at most 30.
 */
export const previousSecretTtl = z
  .number()
  .int()
  .min(0)
  .max(30 * 86_400, 'must be at most 30 days')
  .nullish()
  .transform((ttl) => ttl ?? 86_400);
