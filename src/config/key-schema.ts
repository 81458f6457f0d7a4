/**
 * @module How a service's cache key is built, as the configuration file says it (`services[].key`):
 * which query parameters count, how devices are bucketed when the origin varies on User-Agent,
 * which cookies and headers are left out or joined in. src/key/ applies it.
 */
import { z } from 'zod';
import { deviceClassifier } from '../key/device.js';

const regexSource = z.string().refine(
  (source) => {
    try {
      new RegExp(source);
      return true;
    } catch {
      return false;
    }
  },
  { error: 'is not a valid regular expression' },
);

const queryGlob = z.string().min(1).max(200);

const deviceRule = z.strictObject({
  bucket: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, { error: 'bucket names are lower-case words such as "mobile"' }),
  pattern: regexSource,
  caseInsensitive: z.boolean().default(true),
});

/**
 * The User-Agent a cache fill sends for each built-in bucket: the origin receives the bucket, never
 * the client's own string (which it might echo into a page every visitor of the bucket then gets).
 */
export const DEFAULT_BUCKET_USER_AGENTS: Readonly<Record<string, string>> = {
  desktop:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  mobile:
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
  tablet:
    'Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
};

const bucketName = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, {
  error: 'bucket names are lower-case words such as "mobile"',
});

/** How `Vary: User-Agent` is turned into a small set of device buckets. */
const device = z
  .strictObject({
    /** ua-parser: ua-parser-js 1.x device types; regex: the operator's own rules, first match wins. */
    detect: z.enum(['ua-parser', 'regex']).default('ua-parser'),
    /** With ua-parser: where tablets go. */
    tablets: z.enum(['mobile', 'desktop', 'tablet']).default('desktop'),
    rules: z.array(deviceRule).default([]),
    /** Bucket for user agents no rule matches (and for requests without User-Agent). */
    fallback: bucketName.default('desktop'),
    /**
     * The User-Agent each bucket's cache fills send to the origin (built-in ones for desktop,
     * mobile and tablet; a bucket of your own rules needs one). It must fall in its own bucket.
     */
    userAgents: z.record(bucketName, z.string().min(1).max(512)).default({}),
    /**
     * Request header carrying the bucket to the origin on every request (the client's own copy is
     * never passed on), so an origin can branch on it and say `Vary: <header>`; false: none.
     */
    header: z
      .union([z.literal(false), z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { error: 'must be a header name' })])
      .default('x-device-type')
      .transform((h) => (h === false ? false : h.toLowerCase())),
  })
  .prefault({})
  .refine((d) => d.detect !== 'regex' || d.rules.length > 0, {
    error: 'detect "regex" needs at least one rule',
    path: ['rules'],
  })
  .superRefine((d, ctx) => {
    const buckets = new Set([
      d.fallback,
      ...(d.detect === 'regex' ? d.rules.map((r) => r.bucket) : ['mobile', 'desktop', d.tablets]),
    ]);
    const classify = deviceClassifier(d);
    for (const bucket of buckets) {
      const userAgent = d.userAgents[bucket] ?? DEFAULT_BUCKET_USER_AGENTS[bucket];
      if (userAgent === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `bucket "${bucket}" needs a representative User-Agent (the one its cache fills send)`,
          path: ['userAgents', bucket],
        });
      } else if (classify(userAgent) !== bucket) {
        // The origin must see a User-Agent of the very bucket the response is stored under.
        const which = d.userAgents[bucket] === undefined ? 'the built-in User-Agent' : 'this User-Agent';
        ctx.addIssue({
          code: 'custom',
          message: `${which} for bucket "${bucket}" falls in bucket "${classify(userAgent)}" by these rules; give one of its own`,
          path: ['userAgents', bucket],
        });
      }
    }
  });

export const DEFAULT_DROP_QUERY = ['utm_*', 'fbclid', 'gclid'];

/** Next.js App Router requests (RSC payload, prefetch, router state) and XHR (layout-less pages). */
export const DEFAULT_FRAMEWORK_HEADERS = [
  'rsc',
  'next-router-state-tree',
  'next-router-prefetch',
  'next-router-segment-prefetch',
  'next-url',
  'x-requested-with',
];

/**
 * Cookies set by analytics, advertising and consent tools in the browser, for the browser: an
 * origin that renders pages does not read them, so they are dropped from cache fills and keys.
 */
export const DEFAULT_IGNORED_COOKIES = [
  '_ga',
  '_ga_*',
  '_gid',
  '_gat*',
  '_gcl_*',
  '__utm*',
  '_fbp',
  '_fbc',
  '_hj*',
  '_clck',
  '_clsk',
  '_uetsid',
  '_uetvid',
  '_pk_*',
  'ajs_*',
  'mp_*',
  '_tt_*',
  '_pin_*',
  'OptanonConsent',
  'OptanonAlertBoxClosed',
  'CookieConsent',
  'cookieconsent_status',
  'euconsent-v2',
];

export const keySchema = z
  .strictObject({
    /** Query parameters removed before keying and before the origin request (globs, `*` wildcard). */
    dropQuery: z.array(queryGlob).optional(),
    /** When set, only these parameters are kept (globs); dropQuery is then not allowed. */
    keepQueryOnly: z.array(queryGlob).optional(),
    device,
    /** Send the readable key in X-Cache-Key (useful for operators, reveals the key rules). */
    exposeKeyHeader: z.boolean().default(false),
    /**
     * Cookies that never reach the origin on a cache fill nor the key (analytics, consent, A/B
     * tools' own cookies): with them gone, a request that carried only these is an anonymous one
     * and its response may be stored. Globs on the cookie name.
     */
    cookies: z
      .strictObject({ ignore: z.array(z.string().min(1).max(200)).default(DEFAULT_IGNORED_COOKIES) })
      .prefault({}),
    /**
     * Request headers that common frameworks answer with another representation of the same URL
     * whether or not their response says Vary (Next.js RSC payloads, XHR layouts): when a request
     * carries one, its value joins the key, so such a response can never be given to a request
     * without it. Forwarded as sent.
     */
    frameworkHeaders: z
      .array(
        z
          .string()
          .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { error: 'must be a header name' })
          .transform((h) => h.toLowerCase()),
      )
      .default(DEFAULT_FRAMEWORK_HEADERS),
    /**
     * Request headers the origin's response depends on that must be part of the key (and are
     * then forwarded, even those the edge otherwise strips, such as X-Forwarded-Host).
     */
    headers: z
      .array(
        z
          .string()
          .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { error: 'must be a header name' })
          .transform((h) => h.toLowerCase()),
      )
      .default([]),
  })
  .prefault({})
  .refine((k) => !(k.dropQuery && k.keepQueryOnly), {
    error: 'use either keepQueryOnly or dropQuery, not both',
    path: ['keepQueryOnly'],
  })
  .transform((k) => ({
    ...k,
    dropQuery: k.keepQueryOnly ? [] : (k.dropQuery ?? DEFAULT_DROP_QUERY),
  }));
