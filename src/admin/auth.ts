/**
 * @module Who is calling the admin API? Bearer tokens: an operator token reaches every service, a
 * service token only its own. Every configured token is compared, in constant time, whatever
 * matches first, so the time taken says nothing about any token. Tokens are never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export type Caller = { kind: 'operator' } | { kind: 'service'; service: string };

export interface AdminTokens {
  operator: readonly string[];
  services: Readonly<Record<string, readonly string[]>>;
}

interface Known {
  digest: Buffer;
  caller: Caller;
}

const digest = (token: string) => createHash('sha256').update(token).digest();

export class TokenAuthority {
  private readonly known: Known[];

  constructor(tokens: AdminTokens) {
    this.known = [
      ...tokens.operator.map((t) => ({ digest: digest(t), caller: { kind: 'operator' } as const })),
      ...Object.entries(tokens.services).flatMap(([service, list]) =>
        list.map((t) => ({ digest: digest(t), caller: { kind: 'service', service } as const })),
      ),
    ];
  }

  /** The caller an `Authorization: Bearer …` header identifies, or undefined. */
  identify(authorization: string | undefined): Caller | undefined {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) return undefined;
    const presented = digest(match[1] as string);
    let found: Caller | undefined;
    for (const entry of this.known) {
      // Equal-length digests: timingSafeEqual never throws, and every entry is compared.
      if (timingSafeEqual(entry.digest, presented) && found === undefined) found = entry.caller;
    }
    return found;
  }
}

/** May this caller act on this service? */
export function mayAccess(caller: Caller, service: string): boolean {
  return caller.kind === 'operator' || caller.service === service;
}

/**
 * Eight hex digits of the presented token's SHA-256: tells two operators' tokens apart in the audit
 * log without saying anything usable about either.
 */
export function tokenFingerprint(authorization: string | undefined): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match
    ? digest(match[1] as string)
        .toString('hex')
        .slice(0, 8)
    : 'none';
}
