import { builder } from '../builder.js';
import { ConflictError, ForbiddenError, GoneError, NotFoundError, ValidationError, type FieldError } from '../errors.js';

export const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  description: 'An expected failure the client can act on.',
  fields: (t) => ({ message: t.exposeString('message') }),
});

const FieldErrorRef = builder.objectRef<FieldError>('FieldError').implement({
  fields: (t) => ({
    path: t.exposeStringList('path', { description: 'Where the problem is, e.g. ["input", "verification", "secret"]' }),
    message: t.exposeString('message'),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ValidationError,
  fields: (t) => ({ fieldErrors: t.field({ type: [FieldErrorRef], resolve: (error) => error.fieldErrors }) }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof NotFoundError,
  fields: (t) => ({ resource: t.exposeString('resource'), resourceId: t.exposeString('resourceId') }),
});

const ConflictCodeEnum = builder.enumType('ConflictCode', {
  values: {
    NOT_FAILED: { description: 'Only a FAILED delivery can be retried' },
    COOLDOWN: { description: 'Retried moments ago; try again after the cooldown' },
    DESTINATION_DISABLED: { description: 'Re-enable the destination first' },
    ALREADY_EXISTS: { description: 'Something with this unique name already exists' },
    NOT_CANCELLABLE: { description: 'Only a PENDING or RUNNING replay can be cancelled' },
  },
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ConflictError,
  fields: (t) => ({ code: t.field({ type: ConflictCodeEnum, resolve: (error) => error.code }) }),
});

builder.objectType(GoneError, {
  name: 'GoneError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof GoneError,
  description: 'What the request needs is gone for good, e.g. an event body purged by retention.',
  fields: (t) => ({ resource: t.exposeString('resource'), resourceId: t.exposeString('resourceId') }),
});

builder.objectType(ForbiddenError, {
  name: 'ForbiddenError',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ForbiddenError,
  description: 'The key may not do this: read-only keys (MANAGEMENT_READ_KEYS) query and subscribe, never mutate.',
  fields: (t) => ({ actor: t.exposeString('actor', { description: 'The non-secret name of the key that asked' }) }),
});
