import { GraphQLError, NoSchemaIntrospectionCustomRule, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/**
 * What GraphQL errors may say, on every transport (envelop plugins run for HTTP, SSE and
 * graphql-ws alike, unlike hooks on the HTTP request). graphql-js suggests names ("Did you mean
 * …?") for fields, arguments, enum values and input fields, in documents and in variables; and a
 * variable that fails coercion is quoted back whole, secrets included. Neither reaches a client.
 */

const SUGGESTION = /\s*Did you mean [\s\S]*$/;
const VARIABLE_PREFIX = /^Variable "\$([_A-Za-z][_0-9A-Za-z]*)" got invalid value /;

/** The reason graphql-js gives for a bad variable value, reduced to words that quote nothing the client sent. */
function reasonWithoutValue(message: string): string {
  const tail = message.slice(message.lastIndexOf('; ') + 2);
  const required = /^Field "[_0-9A-Za-z]+" of required type "[^"]+" was not provided\./.exec(tail);
  if (required) return required[0];
  const unknownField = /is not defined by type "([_0-9A-Za-z]+)"/.exec(tail);
  if (unknownField) return `a field is not defined by type "${unknownField[1]}".`;
  const expected = /^Expected type "([^"]+)"/.exec(tail);
  if (expected) return `expected a value of type "${expected[1]}".`;
  const enumValue = /does not exist in "([_0-9A-Za-z]+)" enum/.exec(tail);
  if (enumValue) return `expected a value of enum "${enumValue[1]}".`;
  const cannot = /^([_0-9A-Za-z]+) cannot represent/.exec(tail);
  if (cannot) return `expected a value of type "${cannot[1]}".`;
  return 'invalid value.';
}

/** The message a client may see for an error graphql-js produced. */
export function closedMessage(message: string): string {
  const variable = VARIABLE_PREFIX.exec(message);
  if (variable) {
    // The path after `at "` is made of names from the schema and list indexes.
    const at = / at "([\w.[\]]+)"; /.exec(message);
    return `Variable "$${variable[1]}" got an invalid value${at ? ` at "${at[1]}"` : ''}: ${reasonWithoutValue(message)}`.replace(SUGGESTION, '');
  }
  return message.replace(SUGGESTION, '');
}

function closedError<E extends Error>(error: E): E | GraphQLError {
  if (!(error instanceof GraphQLError)) return error;
  const message = closedMessage(error.message);
  if (message === error.message) return error;
  return new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}

function closeResult(result: ExecutionResult, setResult: (result: ExecutionResult) => void): void {
  if (!result.errors?.length) return;
  setResult({ ...result, errors: result.errors.map((error) => closedError(error)) });
}

const isSingle = (result: unknown): result is ExecutionResult => typeof result === 'object' && result !== null && !(Symbol.asyncIterator in result);

/** No suggestions and no quoted variable values, in validation, execution and subscription errors. */
export function useClosedErrors(): Plugin {
  return {
    onValidate() {
      return ({ result, setResult }) => {
        if (result.length > 0) setResult(result.map((error) => closedError(error)));
      };
    },
    onExecute() {
      return {
        onExecuteDone({ result, setResult }) {
          if (isSingle(result)) closeResult(result, setResult as (result: ExecutionResult) => void);
        },
      };
    },
    onSubscribe() {
      return {
        onSubscribeResult({ result, setResult }) {
          if (isSingle(result)) closeResult(result, setResult as (result: ExecutionResult) => void);
        },
      };
    },
  };
}

/** Introspection refused on every transport (the yoga plugin only hooks HTTP request parsing). */
export function useNoIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}
