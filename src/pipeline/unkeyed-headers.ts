/**
 * @module Request headers that can change what an origin (or a framework in front of it) sends
 * back, but are not part of the cache key: the raw material of web cache poisoning. The edge
 * removes every one of them before the origin request, unless a service declares it needs one —
 * and then the header is part of the key (`key.headers`).
 */

/** Lower-case names. Forwarding and client-address headers the edge writes itself are here too. */
export const UNKEYED_OVERRIDES: ReadonlySet<string> = new Set([
  // the authority, scheme, port or path as a framework may believe them
  'x-forwarded-host',
  'x-forwarded-server',
  'x-forwarded-scheme',
  'x-forwarded-proto',
  'x-forwarded-protocol',
  'x-forwarded-port',
  'x-forwarded-ssl',
  'x-forwarded-prefix',
  'x-forwarded-path',
  'x-forwarded-uri',
  'x-url-scheme',
  'front-end-https',
  'x-original-url',
  'x-original-uri',
  'x-rewrite-url',
  'x-original-host',
  'x-host',
  'x-http-host-override',
  'forwarded',
  // method overrides (CPDoS: a GET answered as DELETE or POST)
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  // client-address claims
  'client-ip',
  'x-proxyuser-ip',
  'x-forwarded-by',
  'x-custom-ip-authorization',
  'x-forwarded-for',
  'x-real-ip',
  'true-client-ip',
  'x-client-ip',
  'x-cluster-client-ip',
  'x-originating-ip',
  'x-remote-ip',
  'x-remote-addr',
  'cf-connecting-ip',
  'fastly-client-ip',
  'x-original-forwarded-for',
  // framework internals reachable from outside: Next.js middleware bypass (CVE-2025-29927), the
  // empty prefetch answer (CVE-2023-46298), route-matches poisoning (CVE-2024-46982)
  'x-middleware-subrequest',
  'x-middleware-prefetch',
  'x-middleware-invoke',
  'x-invoke-path',
  'x-invoke-query',
  'x-invoke-output',
  'x-invoke-status',
  'x-invoke-error',
  'x-now-route-matches',
  // a device profile URL the origin may fetch and believe (the device is the edge's bucket)
  'x-wap-profile',
  'via',
]);
