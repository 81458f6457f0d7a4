/**
 * @module Values the config file writes as people do, checked by zod: sizes and durations ("8 MiB",
 * "30s"), listeners, CIDR blocks.
 */
import { z } from 'zod';
import { parseCidr } from '../waap/cidr.js';

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function parseWithUnits(value: string, units: Record<string, number>): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  if (!match) return undefined;
  const factor = units[(match[2] ?? '').toLowerCase() || Object.keys(units)[0]!];
  if (factor === undefined) return undefined;
  return Math.round(Number(match[1]) * factor);
}

/** A byte count: a non-negative integer, or a string such as "512 KiB" or "8MiB". */
export const byteSize = z.union([z.number().int().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const bytes = parseWithUnits(value, SIZE_UNITS);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a size (use bytes or e.g. "8 MiB", "512KiB")` });
    return z.NEVER;
  }
  return bytes;
});

/** A duration in milliseconds: a non-negative integer of ms, or a string such as "2s" or "1500ms". */
export const durationMs = z.union([z.number().int().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const ms = parseWithUnits(value, DURATION_UNITS);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration (use ms or e.g. "2s", "500ms", "5m")` });
    return z.NEVER;
  }
  return ms;
});

/** A listener's address, with the default a listener of its kind has. */
export const listen = (defaultHost: string, defaultPort: number) =>
  z
    .strictObject({
      host: z.string().min(1).default(defaultHost),
      port: z.number().int().min(0).max(65535).default(defaultPort),
    })
    .prefault({});

/** An IP address or CIDR block, IPv4 or IPv6. */
export const cidr = z.string().refine((value) => parseCidr(value) !== undefined, {
  error: 'must be an IP address or CIDR block such as "10.0.0.0/8" or "2001:db8::/32"',
});
