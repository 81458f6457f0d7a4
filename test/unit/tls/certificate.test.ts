import { describe, expect, it } from 'vitest';
import { certificateProblems, inspectCertificate, nameCovers } from '../../../src/tls/certificate.js';
import { makeCert } from '../../helpers/certs.js';

describe('certificate names, as browsers match them', () => {
  it.each([
    ['shop.example', 'shop.example', true],
    ['SHOP.example', 'shop.EXAMPLE', true],
    ['*.shop.example', 'www.shop.example', true],
    ['*.shop.example', 'shop.example', false],
    ['*.shop.example', 'a.b.shop.example', false],
    ['*.shop.example', '*.shop.example', true],
    ['shop.example', '*.shop.example', false],
    ['*.example', 'shop.example', false],
    ['*.com', 'example.com', false],
    ['w*.shop.example', 'www.shop.example', false],
    ['*.shop.example', 'www.shop.example.', true],
    ['other.example', 'shop.example', false],
  ])('%s covers %s: %s', (name, host, covers) => {
    expect(nameCovers(name, host)).toBe(covers);
  });
});

describe('inspecting a certificate and its key', () => {
  const good = makeCert(['shop.example', '*.shop.example']);

  it('reads names, dates and fingerprint; nothing wrong for the hosts it covers', () => {
    const info = inspectCertificate(good);
    expect(info.names).toEqual(['shop.example', '*.shop.example']);
    expect(info.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(info.notAfter).toBeGreaterThan(Date.now());
    expect(certificateProblems(info, ['shop.example', 'www.shop.example', '*.shop.example'], Date.now())).toEqual([]);
  });

  it('refuses a key that is not the certificate’s, and things that are not PEM', () => {
    const other = makeCert(['shop.example']);
    expect(() => inspectCertificate({ cert: good.cert, key: other.key })).toThrow(
      'the key does not match the certificate',
    );
    expect(() => inspectCertificate({ cert: 'nope', key: good.key })).toThrow('not a PEM X.509 certificate');
    expect(() => inspectCertificate({ cert: good.cert, key: 'nope' })).toThrow('not a PEM private key');
  });

  it('names an expired certificate, and hosts it does not cover', () => {
    const expired = inspectCertificate(makeCert(['shop.example'], { days: -1 }));
    expect(certificateProblems(expired, ['shop.example'], Date.now())).toEqual([
      expect.stringMatching(/^the certificate expired on \d{4}-/),
    ]);
    expect(certificateProblems(inspectCertificate(good), ['news.example', 'a.b.shop.example'], Date.now())).toEqual([
      "the certificate's names (shop.example, *.shop.example) do not cover news.example, a.b.shop.example",
    ]);
  });
});
