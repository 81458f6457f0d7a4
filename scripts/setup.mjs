// Shared set-up for `npm start`, `npm test` and `npm run bench`: plain Node, no dependencies, so it
// runs on a fresh checkout before `npm install` has ever run.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export function say(message) {
  console.log(`[cachefront] ${message}`);
}

/** Runs a command in the repo, inheriting the terminal; returns its exit status. */
export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function mtime(path) {
  return existsSync(path) ? statSync(path).mtimeMs : 0;
}

/** npm dependencies: installed when missing or older than package.json / package-lock.json. */
export function ensureNodeModules() {
  const marker = join(ROOT, 'node_modules', '.package-lock.json');
  const lock = join(ROOT, 'package-lock.json');
  const stale = !existsSync(marker) || mtime(lock) > mtime(marker) || mtime(join(ROOT, 'package.json')) > mtime(marker);
  if (!stale) return;
  say('installing npm dependencies…');
  let status = existsSync(lock) ? run('npm', ['ci', '--no-audit', '--no-fund']) : 1;
  if (status !== 0) {
    // No lock file, or one a different npm version reads differently: resolve afresh.
    say('npm ci could not use the lock file; running npm install instead…');
    status = run('npm', ['install', '--no-audit', '--no-fund']);
  }
  if (status !== 0) {
    console.error('[cachefront] npm could not install the dependencies (see above).');
    process.exit(status);
  }
}

/** True when `command` is on PATH (or in /usr/sbin, where Debian puts nginx). */
export function hasCommand(command) {
  const probe = spawnSync('sh', ['-c', `command -v "$0" || test -x "/usr/sbin/$0"`, command], { stdio: 'ignore' });
  return probe.status === 0;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
let aptUpdated = false;

/**
 * Installs Debian packages when the command they provide is missing and we may (root with
 * apt-get). Returns true when the command is available afterwards.
 */
export function ensureDebianPackage(command, packages, why) {
  if (hasCommand(command)) return true;
  if (!isRoot || !hasCommand('apt-get')) {
    say(`${command} is not installed (${why}). Install it with: sudo apt-get install -y ${packages.join(' ')}`);
    return false;
  }
  say(`installing ${packages.join(' ')} from Debian's packages (${why})…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    run('apt-get', ['update', '-qq'], { env });
    aptUpdated = true;
  }
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { env });
  return hasCommand(command);
}

/**
 * A development token for the admin API, made once per checkout and kept in a git-ignored file the
 * `cachefront` CLI reads by itself (like Jupyter's token), so the README's CLI lines work against
 * `npm start`'s edge with no further setup. Printed when made; later starts say where it is.
 */
export function ensureDevToken(file = join(ROOT, '.cache', 'admin-token'), print = say) {
  if (existsSync(file)) {
    print('admin token: in .cache/admin-token (the cachefront CLI reads it from there)');
    return readFileSync(file, 'utf8').trim();
  }
  const token = randomBytes(24).toString('base64url');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  print(`admin token (written to .cache/admin-token, which the cachefront CLI reads by itself): ${token}`);
  return token;
}
