/**
 * Tools some tests need beyond Node and Redis. `npm test` installs them where it can and says which
 * checks it skipped where it cannot (CACHEFRONT_TEST_PROMETHEUS=0); run directly, a test looks.
 */
import { spawnSync } from 'node:child_process';

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v "$0"`, command], { stdio: 'ignore' }).status === 0;
}

/** Prometheus and promtool (Debian's prometheus package). */
export const HAVE_PROMETHEUS =
  process.env.CACHEFRONT_TEST_PROMETHEUS === '0' ? false : onPath('prometheus') && onPath('promtool');
