// The whole test command: install what is missing, lint, typecheck, run every test, and print a
// plain "N passed, N failed" line (CI reads it). Usage: npm test [-- vitest filters…]
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianPackage, ensureNodeModules, ROOT, run, say } from './setup.mjs';

ensureNodeModules();
if (
  !process.env.REDIS_URL &&
  !ensureDebianPackage('redis-server', ['redis-server'], 'tests run against a real Redis')
) {
  process.exit(1);
}
// The dashboards are checked against a real Prometheus (and promtool checks the metrics and rules).
// Installed like redis-server; where it cannot be, only those checks are skipped, and the summary
// says so.
const havePrometheus = ensureDebianPackage(
  'prometheus',
  ['prometheus'],
  'dashboards and alerts are checked against a real Prometheus',
);

const bin = (name) => join(ROOT, 'node_modules', '.bin', name);
const failures = [];

say('lint and format (biome)');
if (run(bin('biome'), ['check', '.']) !== 0) failures.push('lint');

say('typecheck (tsc)');
if (run(bin('tsc'), ['--noEmit']) !== 0) failures.push('typecheck');

say('tests (vitest)');
const reportDir = join(ROOT, '.cache');
mkdirSync(reportDir, { recursive: true });
const report = join(reportDir, 'vitest-report.json');
rmSync(report, { force: true });
const vitestStatus = run(
  bin('vitest'),
  ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { env: { ...process.env, CACHEFRONT_TEST_PROMETHEUS: havePrometheus ? '1' : '0' } },
);
if (vitestStatus !== 0) failures.push('tests');

let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const result = JSON.parse(readFileSync(report, 'utf8'));
  passed = result.numPassedTests;
  failed = result.numFailedTests;
  skipped = result.numPendingTests + (result.numTodoTests ?? 0);
} catch {
  // vitest did not get as far as writing its report
  failed = Math.max(failed, 1);
}
// Lint or type errors count as failures too: the line must never claim a clean run that was not.
failed += failures.filter((f) => f !== 'tests').length;
if (failures.length > 0) say(`failed: ${failures.join(', ')}`);
if (!havePrometheus) {
  say('skipped: the Prometheus checks (dashboards, alert rules, promtool) — prometheus is not installed;');
  say('         sudo apt-get install -y prometheus, then npm test again, runs them too');
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failures.length > 0 ? 1 : 0);
