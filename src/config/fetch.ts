/**
 * @module A service's fetch-by-URL mode (KissCache's API; docs/large-objects.md, "Fetch-by-URL"):
 * `GET <path>?url=…&ttl=…` fetches the URL through the cache for clients of the listed networks,
 * from the listed upstreams only, and never from an address that is not public.
 */
import { z } from 'zod';
import { cidr, durationMs } from './units.js';

/** An upstream a service may fetch from: a host, `*.host`, an http(s) URL prefix, or `*` (any host). */
const upstream = z
  .string()
  .min(1)
  .refine(
    (rule) => {
      if (rule === '*') return true;
      if (rule.includes('://')) {
        try {
          const url = new URL(rule);
          return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '';
        } catch {
          return false;
        }
      }
      return /^(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/i.test(rule);
    },
    { error: 'must be a host ("downloads.example.com", "*.example.com"), an http(s) URL prefix, or "*"' },
  );

const UPSTREAMS = 'list the upstreams this service may fetch from';
const CLIENTS = 'list the client networks that may fetch (0.0.0.0/0 and ::/0 for everyone)';

/** A missing list says what it is for, rather than zod's "expected array, received undefined". */
const required = (message: string) => (issue: { input: unknown }) => (issue.input === undefined ? message : undefined);

export const fetchSchema = z
  .strictObject({
    /** Where the mode answers on the service's hosts. KissCache's `/api/v1/fetch/` is answered too. */
    path: z
      .string()
      .regex(/^\/[^?#]*$/, { error: 'a path such as "/fetch" (no query)' })
      .default('/fetch'),
    /**
     * What may be fetched: hosts, `*.` wildcards, URL prefixes (`https://host/releases/`), or `*`
     * for any public host (KissCache's own default). The address checks apply whatever is listed.
     */
    allow: z.array(upstream, { error: required(UPSTREAMS) }).min(1, { error: UPSTREAMS }),
    /**
     * Clients that may use the mode (their address as the edge sees it, behind trusted proxies);
     * everyone else gets 403. Say `0.0.0.0/0` and `::/0` to open it to everyone.
     */
    clients: z.array(cidr, { error: required(CLIENTS) }).min(1, { error: CLIENTS }),
    /** How long an object stays when the request names no `ttl=` (KissCache: 10 days, or maxTtlMs if shorter). */
    defaultTtlMs: durationMs.optional(),
    /** The longest `ttl=` a request may ask for; longer ones are cut to it. */
    maxTtlMs: durationMs.default(10 * 86_400_000),
    /** Redirects followed inside the edge, each one checked as the URL was. */
    maxRedirects: z.number().int().min(0).max(20).default(5),
    /**
     * Networks that are not public but may be fetched from all the same (an artefact store inside the
     * operator's network). Empty by default: only public addresses.
     */
    privateNetworks: z.array(cidr).default([]),
  })
  .refine((f) => f.defaultTtlMs === undefined || f.defaultTtlMs <= f.maxTtlMs, {
    error: 'defaultTtlMs is longer than maxTtlMs',
    path: ['defaultTtlMs'],
  })
  .transform((f) => ({ ...f, defaultTtlMs: f.defaultTtlMs ?? Math.min(10 * 86_400_000, f.maxTtlMs) }));

export type FetchConfig = z.output<typeof fetchSchema>;
