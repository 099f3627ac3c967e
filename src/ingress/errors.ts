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

/** The HTTP status each code is answered with. */
export function statusFor(code: ErrorCode): number {
  switch (code) {
    case 'NOT_FOUND':
      return 404;
    case 'METHOD_NOT_ALLOWED':
      return 405;
    case 'RATE_LIMITED':
      return 429;
    case 'PAYLOAD_TOO_LARGE':
      return 413;
    case 'UNSUPPORTED_MEDIA_TYPE':
      return 415;
    case 'SIGNATURE_MISSING':
    case 'SIGNATURE_INVALID':
    case 'TIMESTAMP_TOO_OLD':
    case 'TIMESTAMP_TOO_NEW':
    case 'UNAUTHORIZED':
      return 401;
    case 'VALIDATION_ERROR':
    case 'BAD_REQUEST':
      return 400;
    case 'HEADERS_TOO_LARGE':
      return 431;
    case 'EXPECTATION_FAILED':
      return 417;
    case 'REQUEST_TIMEOUT':
      return 408;
    case 'SERVICE_UNAVAILABLE':
      return 503;
    case 'INTERNAL_ERROR':
      return 500;
  }
}
