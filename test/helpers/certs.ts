/**
 * Real certificates for the TLS tests, made with `openssl`: a test CA, and leaf certificates it
 * signs for given names (ECDSA P-256, like most certificates a CDN serves), expired ones included
 * (`days: -1`).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  dir: string;
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

export interface TestCert {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

let ca: TestCa | undefined;

/** One CA per test process. */
export function testCa(): TestCa {
  if (ca) return ca;
  const dir = mkdtempSync(join(tmpdir(), 'cachefront-ca-'));
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], dir);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-sha256',
      '-days',
      '3650',
      '-subj',
      '/CN=cachefront test CA',
      '-out',
      'ca.crt',
    ],
    dir,
  );
  ca = {
    dir,
    certFile: join(dir, 'ca.crt'),
    keyFile: join(dir, 'ca.key'),
    cert: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    key: readFileSync(join(dir, 'ca.key'), 'utf8'),
  };
  return ca;
}

let serial = 0;

/**
 * A leaf certificate for `names` (subjectAltName DNS entries; `*.x` wildcards allowed), signed by
 * the test CA. `days: -1` makes one that expired a day ago.
 */
export function makeCert(names: string[], options: { days?: number; dir?: string } = {}): TestCert {
  const authority = testCa();
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'cachefront-cert-'));
  const base = `leaf${++serial}`;
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${base}.key`], dir);
  writeFileSync(
    join(dir, `${base}.ext`),
    `subjectAltName=${names.map((name) => `DNS:${name}`).join(',')}\nextendedKeyUsage=serverAuth\n`,
  );
  openssl(['req', '-new', '-key', `${base}.key`, '-subj', `/CN=${names[0]}`, '-out', `${base}.csr`], dir);
  // OpenSSL 3.0's x509 takes no dates, but -days -1: a certificate that expired a day ago.
  const validity = ['-days', String(Math.max(-1, options.days ?? 90))];
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${base}.csr`,
      '-CA',
      authority.certFile,
      '-CAkey',
      authority.keyFile,
      '-CAcreateserial',
      '-sha256',
      '-extfile',
      `${base}.ext`,
      ...validity,
      '-out',
      `${base}.crt`,
    ],
    dir,
  );
  const certFile = join(dir, `${base}.crt`);
  const keyFile = join(dir, `${base}.key`);
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), certFile, keyFile };
}

/**
 * A DER OCSP response from the test CA saying `cert` is good (what an operator's tool fetches from
 * the CA and leaves next to the certificate for stapling). Returns the file's path.
 */
export function makeOcspResponse(cert: TestCert): string {
  const authority = testCa();
  const dir = mkdtempSync(join(tmpdir(), 'cachefront-ocsp-'));
  const serial = execFileSync('openssl', ['x509', '-in', cert.certFile, '-noout', '-serial'], { encoding: 'utf8' })
    .trim()
    .split('=')[1] as string;
  writeFileSync(join(dir, 'index.txt'), `V\t301231000000Z\t\t${serial}\tunknown\t/CN=test\n`);
  openssl(['ocsp', '-issuer', authority.certFile, '-cert', cert.certFile, '-reqout', 'req.der', '-no_nonce'], dir);
  openssl(
    [
      'ocsp',
      '-index',
      'index.txt',
      '-rsigner',
      authority.certFile,
      '-rkey',
      authority.keyFile,
      '-CA',
      authority.certFile,
    ].concat(['-reqin', 'req.der', '-respout', 'resp.der', '-ndays', '1']),
    dir,
  );
  return join(dir, 'resp.der');
}
