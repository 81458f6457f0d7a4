/**
 * @module `cachefront check-config FILE`: validates a configuration file and prints every error.
 */
import { loadConfigFile } from '../config/load.js';
import { CachefrontError } from '../errors.js';

export const CHECK_CONFIG_HELP = `Usage: cachefront check-config FILE

Validates a cachefront configuration file (YAML or JSON) and prints every problem with its path.
Environment overrides (REDIS_URL, CACHEFRONT_EDGE_PORT, CACHEFRONT_ADMIN_PORT) are applied as
\`serve\` would apply them.

Exit status: 0 when the file is valid, 2 when it is not or cannot be read.
`;

export function checkConfig(file: string, out = console): number {
  try {
    const config = loadConfigFile(file);
    const hosts = config.services.reduce((n, s) => n + s.hosts.length, 0);
    out.log(`${file}: valid (${config.services.length} service(s), ${hosts} host name(s))`);
    return 0;
  } catch (error) {
    if (error instanceof CachefrontError) {
      out.error(error.message);
      return 2;
    }
    throw error;
  }
}
