import { getOperationAST, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Metrics } from '../metrics.js';

type OperationMetrics = Pick<Metrics, 'graphqlOperations' | 'graphqlSeconds' | 'operationLabel'>;

function labelsOf(metrics: OperationMetrics, document: DocumentNode, operationName: string | null | undefined) {
  const operation = getOperationAST(document, operationName);
  return { operation: metrics.operationLabel(operation?.name?.value ?? operationName), type: operation?.operation ?? 'unknown' };
}

/**
 * GraphQL operations by name, type and result, and their execution time, on every transport
 * (the WebSocket server runs operations through the same envelop). Subscriptions count once when
 * they start; `active` follows those served by envelop (the shared fan-out counts its own).
 */
export function useOperationMetrics(metrics: OperationMetrics): Plugin & { active(): number } {
  let active = 0;
  return {
    active: () => active,
    onExecute({ args }) {
      const labels = labelsOf(metrics, args.document, args.operationName);
      const done = metrics.graphqlSeconds.startTimer(labels);
      return {
        onExecuteDone({ result }) {
          done();
          const failed = 'errors' in result && (result.errors?.length ?? 0) > 0;
          metrics.graphqlOperations.inc({ ...labels, result: failed ? 'error' : 'ok' });
        },
      };
    },
    onSubscribe({ args }) {
      metrics.graphqlOperations.inc({ ...labelsOf(metrics, args.document, args.operationName), result: 'ok' });
      active += 1;
      let ended = false;
      return {
        onSubscribeError() {
          if (!ended) active -= 1;
          ended = true;
        },
        onSubscribeResult() {
          return {
            onEnd() {
              if (!ended) active -= 1;
              ended = true;
            },
          };
        },
      };
    },
  };
}
