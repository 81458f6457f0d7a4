/**
 * @module `cachefront check-config FILE`: validates a configuration file and prints every error.
 */
import { loadConfigFile } from '../config/load.js';
import { CachefrontError } from '../errors.js';
import { TlsContexts } from '../tls/contexts.js';

export const CHECK_CONFIG_HELP = `Usage: cachefront check-config FILE

Validates a cachefront configuration file (YAML or JSON) and prints every problem with its path,
and the certificate files it names (each parses, its key matches, it is valid now, its names
cover the service's hosts).
Environment overrides (REDIS_URL, CACHEFRONT_EDGE_PORT, CACHEFRONT_ADMIN_PORT) are applied as
\`serve\` would apply them.

Exit status: 0 when the file is valid, 2 when it is not or cannot be read.
`;

export async function checkConfig(file: string, out = console): Promise<number> {
  try {
    const config = loadConfigFile(file);
    // The certificate files too, checked as the edge checks them before serving one.
    if (config.edge.tls) {
      const contexts = new TlsContexts({
        settings: config.edge.tls,
        serviceFor: () => undefined,
        log: { info: () => undefined, error: () => undefined },
      });
      const { failures } = await contexts.refresh(config.services);
      if (failures.length > 0) {
        out.error(
          `invalid certificates in ${file}:\n${failures
            .map(
              (f) =>
                `  - ${f.service ? `services.${f.service}` : 'edge.tls.defaultCertificate'} (${f.source}): ${f.problems.join('; ')}`,
            )
            .join('\n')}`,
        );
        return 2;
      }
    }
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
