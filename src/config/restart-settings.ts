/**
 * @module The settings a reload cannot change in a running process (listeners, the store, the
 * process layout): a reload applies everything else and names these, which wait for a restart.
 */
import type { Config } from './schema.js';

const RESTART_ONLY: readonly (readonly string[])[] = [
  ['edge', 'listen'],
  ['edge', 'workers'],
  ['edge', 'maxHeaderBytes'],
  ['edge', 'workerHeapBytes'],
  ['edge', 'tls', 'listen'],
  ['edge', 'tls', 'http2'],
  ['admin', 'listen'],
  ['metrics'],
  ['redis'],
  ['l1'],
  ['region'],
  ['sync'],
  ['catalog'],
];

function at(config: Config, path: readonly string[]): unknown {
  let value: unknown = config;
  for (const name of path) value = (value as Record<string, unknown> | undefined)?.[name];
  return value;
}

/** The restart-only settings that differ between the running configuration and the next. */
export function restartOnlyChanges(running: Config, next: Config): string[] {
  return RESTART_ONLY.filter((path) => JSON.stringify(at(running, path)) !== JSON.stringify(at(next, path))).map(
    (path) => path.join('.'),
  );
}
