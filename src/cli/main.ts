/**
 * @module The `cachefront` command: serve, check-config, and the admin API's list, purge, explain
 * and stats. Arguments are parsed strictly; unknown options are errors with the usage printed.
 */
import { parseArgs } from 'node:util';
import { ADMIN_COMMANDS, runAdminCommand } from './admin-commands.js';
import { CHECK_CONFIG_HELP, checkConfig } from './check-config.js';
import { SERVE_HELP, serve } from './serve.js';

const MAIN_HELP = `Usage: cachefront <command> [options]

Commands:
  serve --config FILE      start the edge (and its admin listener)
  sync --config FILE       keep this region in step with the others (docs/regions.md)
  check-config FILE        validate a configuration file and print every error
  list SERVICE [FILTER…]   list cached entries (admin API)
  purge SERVICE …          purge by URL, filter or whole service (admin API)
  explain URL [-H …]       how a request would be keyed and answered (admin API)
  stats SERVICE            a service's shared counters (admin API)
  reload                   re-read the configuration file on every worker (admin API; or SIGHUP)
  service put|delete|show  services kept as data in Redis (admin API; catalog.enabled)
  config [--audit]         what every process runs, or the catalog's changes (admin API)

Run \`cachefront <command> --help\` for a command's options.
`;

function fail(message: string, help: string): number {
  console.error(`cachefront: ${message}\n\n${help}`);
  return 2;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(MAIN_HELP);
    return command === undefined ? 2 : 0;
  }
  if (command === 'serve') {
    let parsed: ReturnType<typeof parseServeArgs>;
    try {
      parsed = parseServeArgs(rest);
    } catch (error) {
      return fail((error as Error).message, SERVE_HELP);
    }
    if (parsed.values.help) {
      console.log(SERVE_HELP);
      return 0;
    }
    if (!parsed.values.config) return fail('serve needs --config FILE', SERVE_HELP);
    const workers = parsed.values.workers === undefined ? undefined : Number(parsed.values.workers);
    if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1)) {
      return fail('--workers takes a whole number of at least 1', SERVE_HELP);
    }
    return serve({ configFile: parsed.values.config, workers });
  }
  if (command === 'sync') {
    // Loaded here only: the serve primary must not carry the store's modules.
    const { SYNC_HELP, sync } = await import('./sync.js');
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(SYNC_HELP);
      return 0;
    }
    const parsed = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' } }, strict: false });
    const file = parsed.values.config;
    if (typeof file !== 'string' || parsed.positionals.length > 0) return fail('sync needs --config FILE', SYNC_HELP);
    return sync(file);
  }
  if (command === 'check-config') {
    if (rest.includes('--help') || rest.includes('-h')) {
      console.log(CHECK_CONFIG_HELP);
      return 0;
    }
    if (rest.length !== 1) return fail('check-config takes exactly one FILE', CHECK_CONFIG_HELP);
    return checkConfig(rest[0] as string);
  }
  if (command in ADMIN_COMMANDS) return runAdminCommand(command as keyof typeof ADMIN_COMMANDS, rest);
  return fail(`unknown command "${command}"`, MAIN_HELP);
}

function parseServeArgs(args: string[]) {
  return parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      workers: { type: 'string', short: 'w' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
}
