// `npm run bench`: installs what the benchmark needs (npm dependencies; wrk, nginx and redis-server
// from Debian's packages), builds the edge, and runs the suites: bench/run.ts (hits, misses, nginx
// comparison), bench/lookups.ts (hits a saturated machine turns into origin fetches), bench/admin.ts (listing and purging at 50,000 entries), bench/transform.ts (text and
// image transforms), bench/chaos.ts (origin and Redis killed under load), bench/tls.ts (HTTPS
// handshakes and hits beside nginx) and bench/large.ts (large objects in chunks).
import { join } from 'node:path';
import { ensureDebianPackage, ensureNodeModules, ROOT, run } from './setup.mjs';

ensureNodeModules();
const tools = [
  ['wrk', ['wrk'], 'the load generator'],
  ['nginx', ['nginx'], 'the proxy_cache comparison'],
  ['varnishd', ['varnish'], 'the Varnish comparison'],
  ['redis-server', ['redis-server'], 'the shared store'],
  ['h2load', ['nghttp2-client'], 'the HTTP/2 load generator (tls)'],
  ['openssl', ['openssl'], 'the benchmark certificate (tls)'],
];
for (const [command, packages, why] of tools) {
  if (!ensureDebianPackage(command, packages, why)) process.exit(1);
}
if (run(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json']) !== 0) process.exit(1);
// `npm run bench` runs every suite; `npm run bench -- <suite>` runs one.
const SUITES = {
  hits: 'run.ts',
  lookups: 'lookups.ts',
  replay: 'replay.ts',
  soak: 'soak.ts',
  store: 'store.ts',
  gc: 'gc.ts',
  coalesce: 'coalesce.ts',
  regions: 'regions.ts',
  encode: 'encode.ts',
  admin: 'admin.ts',
  transform: 'transform.ts',
  chaos: 'chaos.ts',
  tls: 'tls.ts',
  large: 'large.ts',
};
const chosen = process.argv[2] ? [process.argv[2]] : Object.keys(SUITES);
for (const suite of chosen) {
  if (!SUITES[suite]) {
    console.error(`unknown benchmark suite "${suite}" (suites: ${Object.keys(SUITES).join(', ')})`);
    process.exit(2);
  }
  const status = run(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', SUITES[suite])]);
  if (status !== 0) process.exit(status);
}
