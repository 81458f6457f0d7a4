/**
 * @module User-Agent → device bucket, used when the origin says `Vary: User-Agent`. Keying on the raw
 * User-Agent would give every browser build its own copy; a bucket keeps one copy per layout the
 * origin really serves. Operators may mirror their origin's own detection with regex rules.
 */
import UAParser from 'ua-parser-js';
import { BoundedMemo } from '../bounded-memo.js';
import type { DeviceConfig } from '../config/schema.js';

/** What classifying needs of a service's device settings. */
export type DeviceRules = Pick<DeviceConfig, 'detect' | 'tablets' | 'rules' | 'fallback'>;

export type DeviceClassifier = (userAgent: string | undefined) => string;

const MOBILE_TYPES = new Set(['mobile', 'wearable']);

/** ua-parser-js 1.x (MIT; 2.x is AGPL). Phones and wearables are mobile, tablets as configured. */
function uaParserBucket(config: DeviceRules): DeviceClassifier {
  return (userAgent) => {
    if (!userAgent) return config.fallback;
    const type = new UAParser(userAgent).getDevice().type;
    if (type !== undefined && MOBILE_TYPES.has(type)) return 'mobile';
    if (type === 'tablet') return config.tablets;
    return config.fallback;
  };
}

function regexBucket(config: DeviceRules): DeviceClassifier {
  const rules = config.rules.map((rule) => ({
    bucket: rule.bucket,
    pattern: new RegExp(rule.pattern, rule.caseInsensitive ? 'i' : ''),
  }));
  return (userAgent) => {
    if (!userAgent) return config.fallback;
    for (const rule of rules) if (rule.pattern.test(userAgent)) return rule.bucket;
    return config.fallback;
  };
}

/**
 * Builds the classifier for one service, memoised: user agents repeat heavily and parsing one
 * costs tens of microseconds. The memo is bounded and simply restarts when full.
 */
export function deviceClassifier(config: DeviceRules, memoBytes = DEVICE_MEMO_BYTES): DeviceClassifier {
  const classify = config.detect === 'regex' ? regexBucket(config) : uaParserBucket(config);
  // Bucket names are a handful of interned strings: only the User-Agent keys count.
  const memo = new BoundedMemo<string>(memoBytes, () => 0);
  return (userAgent) => {
    if (!userAgent) return classify(userAgent);
    const known = memo.get(userAgent);
    if (known !== undefined) return known;
    const bucket = classify(userAgent);
    memo.set(userAgent, bucket);
    return bucket;
  };
}

/** The device memo's budget, per service and process (docs/operations.md, "Memory budget"). */
export const DEVICE_MEMO_BYTES = 2 * 1024 * 1024;
