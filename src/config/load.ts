/**
 * @module Reads the configuration file (YAML or JSON), applies environment overrides, validates it
 * and returns one deep-frozen snapshot. Every problem is reported at once, each with its path.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigInvalid, ConfigUnreadable } from '../errors.js';
import { type Config, configSchema } from './schema.js';

export type Environment = Record<string, string | undefined>;

/** Environment variables operators expect to win over the file. Empty strings count as unset. */
function applyEnvironment(raw: unknown, env: Environment): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const config = structuredClone(raw) as Record<string, Record<string, unknown> | undefined>;
  const set = (section: string, field: string, value: unknown) => {
    config[section] = { ...(config[section] ?? {}), [field]: value };
  };
  const port = (value: string) => (/^\d+$/.test(value) ? Number(value) : value);
  if (env.REDIS_URL) {
    // The environment's target wins over the file's, a cluster's seeds included.
    set('redis', 'url', env.REDIS_URL);
    set('redis', 'cluster', []);
  }
  if (env.CACHEFRONT_EDGE_PORT) {
    set('edge', 'listen', { ...(config.edge?.listen as object), port: port(env.CACHEFRONT_EDGE_PORT) });
  }
  if (env.CACHEFRONT_ADMIN_TOKEN) {
    // An operator token from the environment, added to those in the file (secrets stay out of it).
    const admin = (config.admin ?? {}) as { tokens?: { operator?: unknown[] } };
    const tokens = admin.tokens ?? {};
    set('admin', 'tokens', { ...tokens, operator: [...(tokens.operator ?? []), env.CACHEFRONT_ADMIN_TOKEN] });
  }
  if (env.CACHEFRONT_ADMIN_PORT) {
    set('admin', 'listen', { ...(config.admin?.listen as object), port: port(env.CACHEFRONT_ADMIN_PORT) });
  }
  return config;
}

/** One line per issue: `services.0.origin.url: must be an http:// or https:// URL`. */
export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    return `${path}: ${issue.message}`;
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Validates an already-parsed document; `source` names it in error messages. */
export function parseConfig(raw: unknown, source: string, env: Environment = process.env): Config {
  const result = configSchema.safeParse(applyEnvironment(raw, env));
  if (!result.success) {
    const lines = formatIssues(result.error.issues);
    throw Object.assign(ConfigInvalid(source, lines.map((l) => `  - ${l}`).join('\n')), { issues: lines });
  }
  return deepFreeze(result.data);
}

/** The file's document (YAML or JSON) as plain data, not yet validated; syntax errors thrown. */
export function readConfigDocument(text: string, source: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => `syntax: ${e.message.split('\n')[0]}`);
    throw Object.assign(ConfigInvalid(source, lines.map((l) => `  - ${l}`).join('\n')), { issues: lines });
  }
  return doc.toJS();
}

export function parseConfigText(text: string, source: string, env: Environment = process.env): Config {
  return parseConfig(readConfigDocument(text, source), source, env);
}

/** The `path: message` lines of a ConfigInvalid error (empty for any other error). */
export function issuesOf(error: unknown): string[] {
  const issues = (error as { issues?: unknown } | null)?.issues;
  return Array.isArray(issues) ? issues.filter((line): line is string => typeof line === 'string') : [];
}

export function loadConfigFile(path: string, env: Environment = process.env): Config {
  return readConfigFile(path, env).config;
}

/** The file's text (what a reload hands to workers) and its validated configuration. */
export function readConfigFile(path: string, env: Environment = process.env): { text: string; config: Config } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw ConfigUnreadable(path, (error as Error).message);
  }
  return { text, config: parseConfigText(text, path, env) };
}
