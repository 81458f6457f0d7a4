/**
 * @module The Cookie request header without the cookies a service ignores (analytics, consent):
 * they are set by scripts in the browser for the browser, and an origin that renders pages never
 * reads them. Removing them lets a request that carried only those be cached like an anonymous one.
 */
import { compileGlobs } from './url.js';

export type CookieFilter = (header: string) => string | undefined;

/** A filter for the given cookie-name globs; undefined when there is nothing to ignore. */
export function cookieFilter(ignore: readonly string[]): CookieFilter | undefined {
  const ignored = compileGlobs(ignore);
  if (!ignored) return undefined;
  return (header) => {
    let kept = '';
    for (const pair of header.split(';')) {
      const trimmed = pair.trim();
      if (trimmed === '') continue;
      const eq = trimmed.indexOf('=');
      const name = eq === -1 ? trimmed : trimmed.slice(0, eq).trim();
      if (ignored.test(name)) continue;
      kept = kept === '' ? trimmed : `${kept}; ${trimmed}`;
    }
    return kept === '' ? undefined : kept;
  };
}
