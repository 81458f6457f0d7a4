import { describe, expect, it } from 'vitest';
import { deviceClassifier } from '../../../src/key/device.js';

const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const ANDROID_PHONE =
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36';
const IPAD =
  'Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const DESKTOP_CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
const DESKTOP_FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0';

const uaParser = (tablets: 'mobile' | 'desktop' | 'tablet' = 'desktop') =>
  deviceClassifier({ detect: 'ua-parser', tablets, rules: [], fallback: 'desktop' });

describe('device buckets with ua-parser-js', () => {
  it.each([
    [IPHONE, 'mobile'],
    [ANDROID_PHONE, 'mobile'],
    [IPAD, 'desktop'],
    [DESKTOP_CHROME, 'desktop'],
    [DESKTOP_FIREFOX, 'desktop'],
    [undefined, 'desktop'],
    ['curl/8.0', 'desktop'],
  ])('%s → %s', (ua, bucket) => {
    expect(uaParser()(ua)).toBe(bucket);
  });

  it('puts tablets where the service says', () => {
    expect(uaParser('tablet')(IPAD)).toBe('tablet');
    expect(uaParser('mobile')(IPAD)).toBe('mobile');
  });
});

describe('device buckets with the operator’s own rules', () => {
  const classify = deviceClassifier({
    detect: 'regex',
    tablets: 'desktop',
    rules: [
      { bucket: 'tablet', pattern: 'iPad|Tablet', caseInsensitive: true },
      { bucket: 'mobile', pattern: 'Mobi|Android', caseInsensitive: true },
    ],
    fallback: 'desktop',
  });

  it('first matching rule wins, fallback otherwise', () => {
    expect(classify(IPAD)).toBe('tablet'); // also matches "Mobi", but the tablet rule comes first
    expect(classify(ANDROID_PHONE)).toBe('mobile');
    expect(classify(DESKTOP_CHROME)).toBe('desktop');
    expect(classify(undefined)).toBe('desktop');
  });
});
