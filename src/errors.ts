/**
 * @module The one registry of cachefront's error codes: each code has a fixed HTTP status and a
 * message template. Retired codes are never reused; docs/errors.md lists every code.
 */

export class CachefrontError extends Error {
  readonly code: string;
  readonly statusCode: number;

  constructor(code: string, statusCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CachefrontError';
    this.code = code;
    this.statusCode = statusCode;
  }
}

type ErrorFactory = ((...args: string[]) => CachefrontError) & { code: string; statusCode: number };

function defineError(code: string, statusCode: number, template: string): ErrorFactory {
  const make = (...args: string[]) => {
    let i = 0;
    const message = template.replace(/%s/g, () => args[i++] ?? '');
    return new CachefrontError(code, statusCode, message);
  };
  return Object.assign(make, { code, statusCode });
}

// Configuration
export const ConfigInvalid = defineError('CF_ERR_CONFIG_INVALID', 500, 'invalid configuration in %s:\n%s');
export const ConfigUnreadable = defineError('CF_ERR_CONFIG_UNREADABLE', 500, 'cannot read configuration %s: %s');

// Request path
export const UnknownService = defineError(
  'CF_ERR_UNKNOWN_SERVICE',
  421,
  'no service is configured for host "%s" on this edge',
);
export const MissingHost = defineError('CF_ERR_MISSING_HOST', 400, 'the request has no Host header');
export const InvalidHost = defineError('CF_ERR_INVALID_HOST', 400, 'the Host "%s" is not a valid host[:port]');
export const HeadersTooLarge = defineError(
  'CF_ERR_HEADERS_TOO_LARGE',
  431,
  'the request line and headers are larger than %s bytes',
);
export const MalformedRequest = defineError('CF_ERR_MALFORMED_REQUEST', 400, 'the request is not valid HTTP/1.1: %s');
export const ClientTimeout = defineError('CF_ERR_CLIENT_TIMEOUT', 408, 'the request did not arrive in time');
export const BadRequestTarget = defineError('CF_ERR_BAD_REQUEST_TARGET', 400, 'the request target is not valid: %s');
export const AmbiguousRequest = defineError('CF_ERR_AMBIGUOUS_REQUEST', 400, 'the request is ambiguous: %s');
export const UrlTooLong = defineError('CF_ERR_URL_TOO_LONG', 414, 'the request target is longer than %s bytes');
export const TooManyHeaders = defineError('CF_ERR_TOO_MANY_HEADERS', 431, 'the request has more than %s header fields');
export const BodyTooLarge = defineError('CF_ERR_BODY_TOO_LARGE', 413, 'the request body is larger than %s bytes');

// WAAP
export const Forbidden = defineError(
  'CF_ERR_FORBIDDEN',
  403,
  'requests from this address are not allowed for this site',
);
export const RateLimited = defineError(
  'CF_ERR_RATE_LIMITED',
  429,
  'too many requests: at most %s every %s ms per client',
);

// Fetch-by-URL (docs/large-objects.md)
export const FetchNotAllowed = defineError(
  'CF_ERR_FETCH_NOT_ALLOWED',
  403,
  'this address may not use fetch-by-URL on service %s',
);
export const FetchRefused = defineError('CF_ERR_FETCH_REFUSED', 403, 'fetch-by-URL refused: %s');
export const FetchBadRequest = defineError('CF_ERR_FETCH_BAD_REQUEST', 400, 'fetch-by-URL: %s');

// Origin
export const OriginConnect = defineError('CF_ERR_ORIGIN_CONNECT', 502, 'the origin of service %s could not be reached');
export const OriginTimeout = defineError(
  'CF_ERR_ORIGIN_TIMEOUT',
  504,
  'the origin of service %s did not answer in time',
);
export const OriginBroken = defineError('CF_ERR_ORIGIN_BROKEN', 502, 'the origin of service %s sent a broken response');
export const QuotaFull = defineError(
  'CF_ERR_QUOTA_FULL',
  507,
  'the cache of service %s is full (its byte quota): a clean-up is under way, ask again later',
);
export const Internal = defineError('CF_ERR_INTERNAL', 500, 'internal error in the edge');
export const ShuttingDown = defineError('CF_ERR_SHUTTING_DOWN', 503, 'this edge node is shutting down');
export const NotCached = defineError(
  'CF_ERR_NOT_CACHED',
  504,
  'the request asked for a stored response only (only-if-cached) and none can be used',
);

// Admin API
export const BadCursor = defineError(
  'CF_ERR_ADMIN_BAD_CURSOR',
  400,
  'the cursor was not returned by this API for this filter; start again without one',
);

// Origin health
export const OriginDown = defineError(
  'CF_ERR_ORIGIN_DOWN',
  503,
  'the origin of service %s is failing; requests to it are paused (circuit open), retry in %s s',
);
