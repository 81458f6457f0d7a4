/** `cachefront check-config` checks the certificate files a configuration names, as the edge would. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { makeCert } from '../../helpers/certs.js';
import { BIN, writeConfig } from '../../helpers/serve.js';

const config = (cert: { certFile: string; keyFile: string }, host = 'shop.example') =>
  writeConfig(`edge: { tls: { listen: { port: 8443 } } }
services:
  - id: shop
    hosts: [${host}]
    origin: { url: "http://127.0.0.1:1" }
    tls: { certificate: { cert: "${cert.certFile}", key: "${cert.keyFile}" } }
`);

const check = (file: string) => spawnSync(process.execPath, [BIN, 'check-config', file], { encoding: 'utf8' });

describe('check-config and certificates', () => {
  it('accepts a good pair and names the service and file of a bad one', () => {
    const good = makeCert(['shop.example']);
    expect(check(config(good)).status).toBe(0);
    const expired = makeCert(['shop.example'], { days: -1 });
    const res = check(config(expired));
    expect(res.status).toBe(2);
    expect(res.stderr).toContain(
      `services.shop (${expired.certFile} (key ${expired.keyFile})): the certificate expired on`,
    );
    const uncovered = check(config(good, 'news.example'));
    expect(uncovered.stderr).toContain('do not cover news.example');
    const missing = check(config({ certFile: '/nonexistent/cert.pem', keyFile: good.keyFile }));
    expect(missing.stderr).toContain('cannot read /nonexistent/cert.pem: ENOENT');
  });
});
