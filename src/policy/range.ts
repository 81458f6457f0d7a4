/**
 * @module Range requests on a complete stored representation (RFC 9110 §14). Only the `bytes` unit;
 * a request for several ranges that do not merge into one is answered with the whole
 * representation (200), which §14.2 allows and every client handles.
 */

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

export type RangeDecision =
  /** No (usable) Range header: send the whole representation. */
  | { kind: 'full' }
  | { kind: 'partial'; range: ByteRange }
  /** §15.5.17: none of the ranges overlaps the representation. */
  | { kind: 'unsatisfiable' };

const FULL: RangeDecision = { kind: 'full' };

/**
 * Parses `Range` against a representation of `length` bytes. Syntax the edge does not understand
 * is ignored (§14.2: "a server MAY ignore the Range header field").
 */
export function decideRange(header: string | undefined, length: number): RangeDecision {
  if (header === undefined) return FULL;
  const match = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!match) return FULL;
  const ranges: ByteRange[] = [];
  for (const spec of (match[1] as string).split(',')) {
    const part = spec.trim();
    if (part === '') continue;
    const m = /^(\d*)\s*-\s*(\d*)$/.exec(part);
    if (!m || (m[1] === '' && m[2] === '')) return FULL;
    if (m[1] === '') {
      // suffix-range: the last N bytes
      const suffix = Number(m[2]);
      if (suffix === 0) continue;
      ranges.push({ start: Math.max(0, length - suffix), end: length - 1 });
      continue;
    }
    const start = Number(m[1]);
    const end = m[2] === '' ? length - 1 : Math.min(Number(m[2]), length - 1);
    if (m[2] !== '' && Number(m[2]) < start) return FULL; // invalid range-spec: ignore the header
    if (start >= length) continue; // not satisfiable on its own
    ranges.push({ start, end });
  }
  if (ranges.length === 0 || length === 0) return { kind: 'unsatisfiable' };
  ranges.sort((a, b) => a.start - b.start);
  // Overlapping or adjacent ranges merge; anything still plural gets the whole representation.
  const merged: ByteRange[] = [];
  for (const r of ranges) {
    const last = merged.at(-1);
    if (last && r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
    else merged.push({ ...r });
  }
  return merged.length === 1 ? { kind: 'partial', range: merged[0] as ByteRange } : FULL;
}

export function contentRange(range: ByteRange, length: number): string {
  return `bytes ${range.start}-${range.end}/${length}`;
}

export function unsatisfiedRange(length: number): string {
  return `bytes */${length}`;
}
