import { createClient, type Client } from 'graphql-ws';

/**
 * The console is a client of the public API like any dashboard: queries and mutations over
 * POST /graphql, subscriptions over graphql-ws. The key lives in this tab's sessionStorage only,
 * and travels in the header (HTTP) and in connectionParams (WebSocket).
 */
const KEY = 'hookgate.key';
export const API_KEY_HEADER = 'x-internal-api-key';

export const session = {
  key: () => sessionStorage.getItem(KEY),
  signIn: (key: string) => sessionStorage.setItem(KEY, key),
  signOut: () => {
    sessionStorage.removeItem(KEY);
    void Promise.resolve(socket?.dispose()).catch(() => undefined);
    socket = undefined;
  },
};

export class ApiError extends Error {}

export async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', [API_KEY_HEADER]: session.key() ?? '' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json().catch(() => ({}))) as { data?: T; errors?: { message: string }[]; error?: { message: string } };
  if (body.error) throw new ApiError(body.error.message);
  if (body.errors?.length) throw new ApiError(body.errors.map((error) => error.message).join('; '));
  if (!body.data) throw new ApiError(`unexpected answer (HTTP ${response.status})`);
  return body.data;
}

let socket: Client | undefined;

function client(): Client {
  socket ??= createClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    connectionParams: () => ({ [API_KEY_HEADER]: session.key() ?? '' }),
    lazy: true,
    retryAttempts: Infinity,
    shouldRetry: () => true,
  });
  return socket;
}

/** Subscribes; returns the function that ends the subscription. */
export function subscribe<T>(query: string, variables: Record<string, unknown>, onData: (data: T) => void, onError: (message: string) => void): () => void {
  return client().subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors?.length) onError(result.errors.map((error) => error.message).join('; '));
        else if (result.data) onData(result.data as T);
      },
      error: (error) => onError(error instanceof Error ? error.message : 'subscription closed'),
      complete: () => undefined,
    },
  );
}

export interface Viewer {
  actor: string;
  readOnly: boolean;
}

export const ERROR_FIELDS = '... on Error { __typename message } ... on ValidationError { fieldErrors { path message } }';
