/**
 * @module The one door to Lua: every `lua/<name>-<numberOfKeys>.lua` is defined once per client
 * (ioredis then calls it with EVALSHA and falls back to EVAL on NOSCRIPT) and called by name here.
 * The key count in the file name is the contract between the script and its callers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RedisClient } from '../redis/connect.js';

export const LUA_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'lua');

export interface ScriptFile {
  name: string;
  numberOfKeys: number;
  source: string;
}

/** Replaces each `--- @include "includes/<name>"` line with that fragment (one level, no cycles). */
function expandIncludes(source: string, dir: string, file: string): string {
  return source.replace(/^--- @include "([\w/]+)"$/gm, (_line, name: string) => {
    try {
      return readFileSync(join(dir, `${name}.lua`), 'utf8');
    } catch {
      throw new Error(`lua/${file}: included fragment "${name}.lua" not found`);
    }
  });
}

export function readScripts(dir = LUA_DIR): ScriptFile[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.lua'))
    .map((file) => {
      const match = /^([A-Za-z]+)-(\d+)\.lua$/.exec(file);
      if (!match) throw new Error(`lua/${file}: script files are named <name>-<numberOfKeys>.lua`);
      const source = expandIncludes(readFileSync(join(dir, file), 'utf8'), dir, file);
      return { name: match[1] as string, numberOfKeys: Number(match[2]), source };
    });
}

// Read once per process: every client defines the same scripts.
let scripts: ScriptFile[] | undefined;

type ScriptName =
  | 'storeKeys'
  | 'indexPending'
  | 'invalidateUrl'
  | 'rateLimit'
  | 'touchEntries'
  | 'scanEntries'
  | 'purgeEntries'
  | 'originHealth'
  | 'markPurge'
  | 'claimFill'
  | 'fillDone'
  | 'flightAppend'
  | 'catalogChange'
  | 'trimBytes';

/** Defines every script on a client; idempotent. */
export function defineScripts(client: RedisClient): void {
  scripts ??= readScripts();
  for (const script of scripts) {
    if ((client as unknown as Record<string, unknown>)[script.name]) continue;
    client.defineCommand(script.name, { numberOfKeys: script.numberOfKeys, lua: script.source });
  }
}

/** Calls a script by name with its keys and arguments. Nothing else runs Lua. */
export function runScript(
  client: RedisClient,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number | Buffer)[],
): Promise<unknown> {
  const command = (client as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[name];
  if (!command) throw new Error(`Lua script "${name}" is not defined on this client`);
  return command.call(client, ...keys, ...args);
}
