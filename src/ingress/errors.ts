/** The one error shape of the whole HTTP surface (DESIGN.md §2). */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'RATE_LIMITED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'SIGNATURE_MISSING'
  | 'SIGNATURE_INVALID'
  | 'TIMESTAMP_TOO_OLD'
  | 'TIMESTAMP_TOO_NEW'
  | 'VALIDATION_ERROR'
  | 'BAD_REQUEST'
  | 'HEADERS_TOO_LARGE'
  | 'EXPECTATION_FAILED'
  | 'REQUEST_TIMEOUT'
  | 'UNAUTHORIZED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_ERROR';

export interface ErrorEnvelope {
  error: { code: ErrorCode; message: string; requestId: string };
}

export function errorEnvelope(code: ErrorCode, message: string, requestId: string): ErrorEnvelope {
  return { error: { code, message, requestId } };
}
