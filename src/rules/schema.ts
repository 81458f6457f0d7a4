/**
 * @module Operators' cache rules for a service (docs/rules.md): an ordered list, first match wins,
 * declarative and validated here. A rule matches on the request (path, method, extension, a header
 * or a cookie) and, for what is decided once the origin has answered, on the response (status,
 * content type). The security rules of the edge stay in force whatever a rule says.
 */
import { z } from 'zod';
import { byteSize, durationMs } from '../config/units.js';

const fieldName = z
  .string()
  .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, { error: 'a header or cookie name' })
  .transform((name) => name.toLowerCase());

/** A header or cookie condition: present (or absent), or equal to a value. */
const fieldCondition = z
  .strictObject({
    name: fieldName,
    /** The value, exactly (case-sensitive). */
    value: z.string().optional(),
    /** true: the field must be there; false: it must not. */
    present: z.boolean().optional(),
  })
  .refine((c) => c.value === undefined || c.present !== false, {
    error: 'a value cannot be required of an absent field',
  });

const mediaRange = z
  .string()
  .regex(/^[a-z0-9!#$&^_.+-]+\/([a-z0-9!#$&^_.+-]+|\*)$/i, { error: 'a media type (image/png) or range (image/*)' })
  .transform((type) => type.toLowerCase());

export const ruleMatch = z
  .strictObject({
    /** The path (without the query) matches this glob: `*` any run of characters, `?` one. */
    path: z.string().startsWith('/').optional(),
    /** The path starts with this. */
    prefix: z.string().startsWith('/').optional(),
    methods: z
      .array(z.string().regex(/^[A-Z]+$/, { error: 'an upper-case method' }))
      .min(1)
      .optional(),
    /** The path's last segment ends in one of these extensions (without the dot, any case). */
    extensions: z
      .array(z.string().regex(/^[A-Za-z0-9]+$/))
      .min(1)
      .transform((list) => list.map((e) => e.toLowerCase()))
      .optional(),
    header: fieldCondition.optional(),
    cookie: fieldCondition.optional(),
    /** Decided on the response: its status is one of these. */
    status: z.array(z.number().int().min(100).max(599)).min(1).optional(),
    /** Decided on the response: its media type is one of these (image/* for every image type). */
    contentType: z.array(mediaRange).min(1).optional(),
  })
  .prefault({});

const statusTtl = z.record(z.string().regex(/^[1-5]\d\d$/, { error: 'a status code' }), durationMs);

export const cacheRule = z
  .strictObject({
    /** Shown by explain and in Cache-Status; defaults to the rule's position. */
    name: z.string().min(1).max(64).optional(),
    match: ruleMatch,
    /** Neither look up nor store: straight to the origin. */
    bypass: z.boolean().default(false),
    /** Store for this long, whatever the origin's freshness says (Cache-Status says so). */
    edgeTtl: durationMs.optional(),
    /** What clients are told in Cache-Control (max-age); private responses stay private. */
    browserTtl: durationMs.optional(),
    /** Store these statuses (404, 301, 410…) for this long. */
    statusTtl: statusTtl.optional(),
    staleWhileRevalidate: durationMs.optional(),
    staleIfError: durationMs.optional(),
    /** The key: the query string ignored, or only these parameters kept (the origin gets the same). */
    query: z.union([z.literal('ignore'), z.strictObject({ keep: z.array(z.string().min(1)).min(1) })]).optional(),
    /** Request header values and cookie values added to the key. */
    key: z
      .strictObject({ headers: z.array(fieldName).default([]), cookies: z.array(fieldName).default([]) })
      .optional(),
    /** Responses of these types are never stored. */
    noStoreTypes: z.array(mediaRange).min(1).optional(),
    /** Larger responses are not stored. */
    maxObjectBytes: byteSize.optional(),
  })
  .superRefine((rule, ctx) => {
    const onResponse = rule.match.status !== undefined || rule.match.contentType !== undefined;
    const requestActions = (['bypass', 'query', 'key'] as const).filter((a) =>
      a === 'bypass' ? rule.bypass : rule[a] !== undefined,
    );
    if (onResponse && requestActions.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `${requestActions.join(', ')} act before the origin answers: a rule matching on status or contentType cannot`,
        path: [requestActions[0] as string],
      });
    }
    const others = Object.keys(rule).filter((k) => !['name', 'match', 'bypass'].includes(k));
    if (rule.bypass && others.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `a bypass rule stores nothing: ${others.join(', ')} would do nothing`,
        path: ['bypass'],
      });
    }
  });

export type CacheRule = z.output<typeof cacheRule>;
export type RuleMatch = z.output<typeof ruleMatch>;
