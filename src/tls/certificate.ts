/**
 * @module What the edge checks of a customer's certificate before serving it, at start and at
 * every reload: it parses, its key matches it, it is valid now, and its names cover the service's
 * hosts — names matched as browsers match them (RFC 6125 §6.4.3: a wildcard is a whole left-most
 * label and stands for exactly one label, never for a public suffix alone).
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';

/** A certificate (PEM, the leaf first, then its chain) and its private key (PEM). */
export interface CertificatePair {
  cert: string;
  key: string;
}

export interface CertificateInfo {
  /** DNS names the certificate is valid for (subjectAltName, or the subject's CN without one). */
  names: string[];
  notBefore: number;
  notAfter: number;
  /** SHA-256 of the leaf, hex: says which certificate is served without showing anything secret. */
  fingerprint: string;
  subject: string;
  issuer: string;
}

/** Why a certificate cannot be served; `message` names what is wrong. */
export class CertificateProblem extends Error {}

function dnsNames(cert: X509Certificate): string[] {
  const san = cert.subjectAltName;
  if (san) {
    return san
      .split(/,\s*/)
      .filter((entry) => entry.startsWith('DNS:'))
      .map((entry) => entry.slice(4).toLowerCase());
  }
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
  return cn ? [cn.toLowerCase()] : [];
}

/** Parses the pair and checks the key is the certificate's; throws CertificateProblem. */
export function inspectCertificate(pair: CertificatePair): CertificateInfo {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pair.cert);
  } catch {
    throw new CertificateProblem('the certificate is not a PEM X.509 certificate');
  }
  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(pair.key);
  } catch {
    throw new CertificateProblem('the key is not a PEM private key (or it is encrypted)');
  }
  if (!cert.checkPrivateKey(key)) throw new CertificateProblem('the key does not match the certificate');
  return {
    names: dnsNames(cert),
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
    fingerprint: createHash('sha256').update(cert.raw).digest('hex'),
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
  };
}

/**
 * Does certificate name `name` cover host `host`? Exact (any case), or `*.example.com` for one
 * label under example.com — not example.com itself, not a.b.example.com, and never `*.com`. A
 * service host that is itself a wildcard (`*.shop.example`) is covered by the same wildcard only.
 */
export function nameCovers(name: string, host: string): boolean {
  const n = name.toLowerCase();
  const h = host.toLowerCase().replace(/\.$/, '');
  if (n === h) return true;
  if (!n.startsWith('*.') || h.startsWith('*.')) return false;
  const suffix = n.slice(1); // ".example.com"
  if (suffix.split('.').length < 3) return false; // "*.com": a public suffix alone
  if (!h.endsWith(suffix)) return false;
  const label = h.slice(0, -suffix.length);
  return label.length > 0 && !label.includes('.');
}

/** The problems that keep a parsed certificate from being served for `hosts` at `now`. */
export function certificateProblems(info: CertificateInfo, hosts: readonly string[], now: number): string[] {
  const problems: string[] = [];
  if (now > info.notAfter) problems.push(`the certificate expired on ${new Date(info.notAfter).toISOString()}`);
  if (now < info.notBefore)
    problems.push(`the certificate is not valid before ${new Date(info.notBefore).toISOString()}`);
  const uncovered = hosts.filter((host) => !info.names.some((name) => nameCovers(name, host)));
  if (uncovered.length > 0) {
    problems.push(`the certificate's names (${info.names.join(', ') || 'none'}) do not cover ${uncovered.join(', ')}`);
  }
  return problems;
}
