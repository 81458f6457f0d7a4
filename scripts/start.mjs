// `npm start`: installs dependencies when needed, builds, then runs the example origin and the
// edge with examples/cachefront.yaml (which starts a local redis-server, or the embedded store,
// when no Redis is reachable). Extra arguments go to `cachefront serve`.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDevToken, ensureNodeModules, ROOT, run, say } from './setup.mjs';

ensureNodeModules();

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

const entry = join(ROOT, 'dist', 'cli', 'entry.js');
if (!existsSync(entry) || newestMtime(join(ROOT, 'src')) > statSync(entry).mtimeMs) {
  say('building (tsc)…');
  if (run(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json']) !== 0) process.exit(1);
}

const config = process.env.CACHEFRONT_CONFIG ?? join(ROOT, 'examples', 'cachefront.yaml');
const env = { ...process.env, CACHEFRONT_ADMIN_TOKEN: process.env.CACHEFRONT_ADMIN_TOKEN || ensureDevToken() };
const children = [];
const origin = spawn(process.execPath, [join(ROOT, 'examples', 'origin.mjs')], { stdio: 'inherit' });
children.push(origin);
const edge = spawn(
  process.execPath,
  [join(ROOT, 'bin', 'cachefront.mjs'), 'serve', '--config', config, ...process.argv.slice(2)],
  { stdio: 'inherit', env },
);
children.push(edge);
say('try: curl -i -H "Host: example.test" http://127.0.0.1:8080/hello   (twice: Miss, then Hit)');
say('then: npx cachefront stats example');

const stop = (signal) => {
  for (const child of children) if (child.exitCode === null) child.kill(signal);
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));
edge.on('exit', (code) => {
  stop('SIGTERM');
  process.exitCode = code ?? 0;
});
