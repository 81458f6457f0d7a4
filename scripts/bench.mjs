// `npm run bench`: installs what the benchmark needs (npm dependencies; wrk, nginx and redis-server
// from Debian's packages), builds the edge, and runs bench/run.ts.
import { join } from 'node:path';
import { ensureDebianPackage, ensureNodeModules, ROOT, run } from './setup.mjs';

ensureNodeModules();
const tools = [
  ['wrk', ['wrk'], 'the load generator'],
  ['nginx', ['nginx'], 'the proxy_cache comparison'],
  ['redis-server', ['redis-server'], 'the shared store'],
];
for (const [command, packages, why] of tools) {
  if (!ensureDebianPackage(command, packages, why)) process.exit(1);
}
if (run(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json']) !== 0) process.exit(1);
process.exit(run(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'run.ts'), ...process.argv.slice(2)]));
