import type { ZodError } from 'zod';
import { GraphQLError } from 'graphql';

/** Expected failures: typed in the schema so clients can branch on them (STYLE.md §6). */

export interface FieldError {
  path: string[];
  message: string;
}

export class ValidationError extends Error {
  constructor(
    message: string,
    readonly fieldErrors: FieldError[] = [],
  ) {
    super(message);
    this.name = 'ValidationError';
  }

  static fromZod(error: ZodError, prefix: string[] = ['input']): ValidationError {
    const fieldErrors = error.issues.map((issue) => ({
      path: [...prefix, ...issue.path.map(String)],
      message: issue.message,
    }));
    const summary = fieldErrors.map((field) => `${field.path.join('.')}: ${field.message}`).join('; ');
    return new ValidationError(`invalid input: ${summary}`, fieldErrors);
  }
}

export class NotFoundError extends Error {
  constructor(
    readonly resource: string,
    readonly resourceId: string,
  ) {
    super(`${resource} ${resourceId} was not found`);
    this.name = 'NotFoundError';
  }
}

/** The thing exists but what the request needs of it is gone for good (a body purged by retention). */
export class GoneError extends Error {
  constructor(
    readonly resource: string,
    readonly resourceId: string,
    message: string,
  ) {
    super(message);
    this.name = 'GoneError';
  }
}

/** Why an operation conflicts with the current state: clients branch on this, never on the message. */
export const CONFLICT_CODES = ['NOT_FAILED', 'COOLDOWN', 'DESTINATION_DISABLED', 'ALREADY_EXISTS', 'NOT_CANCELLABLE'] as const;
export type ConflictCode = (typeof CONFLICT_CODES)[number];

export class ConflictError extends Error {
  constructor(
    message: string,
    readonly code: ConflictCode,
  ) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** The key is valid but may not do this: a read-only key asked for a mutation. */
export class ForbiddenError extends Error {
  constructor(readonly actor: string) {
    super('this key is read-only: it may query and subscribe, not mutate');
    this.name = 'ForbiddenError';
  }
}

/** For query arguments (lists have no result union): a GraphQL error with field paths, never masked. */
export function badUserInput(error: ZodError, prefix: string[]): GraphQLError {
  const { message, fieldErrors } = ValidationError.fromZod(error, prefix);
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', fieldErrors } });
}
