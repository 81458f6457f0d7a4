/**
 * @module A real Redis Cluster on loopback, without Docker: `redis-server --cluster-enabled yes` on
 * free ports (infra/redis.conf, nothing persisted), joined by `redis-cli --cluster create` with the
 * asked number of replicas per master. For tests and benchmarks of the cluster path; a node can be
 * SIGKILLed to exercise failover.
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { clusterUrl } from './connect.js';
import { findRedisServer, INSTALL_HINT, type LocalRedis, startLocalRedis } from './local-server.js';

const run = promisify(execFile);

export interface LocalCluster {
  /** Every node, masters first as `redis-cli --cluster create` assigned them. */
  nodes: LocalRedis[];
  /** `host:port` of every node. */
  seeds: string[];
  /** The `redis+cluster://` target of the cluster. */
  url: string;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  masters?: number;
  replicasPerMaster?: number;
  /** How long a node may be unreachable before its replica takes over (cluster-node-timeout). */
  nodeTimeoutMs?: number;
}

/** redis-cli, beside the redis-server in use. */
function redisCli(): string {
  const server = findRedisServer();
  if (!server) throw new Error(INSTALL_HINT);
  return server.includes('/') ? join(dirname(server), 'redis-cli') : 'redis-cli';
}

async function clusterOk(node: LocalRedis): Promise<boolean> {
  const client = new Redis(node.port, node.host, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const info = (await client.call('CLUSTER', 'INFO')) as string;
    return /cluster_state:ok/.test(info) && /cluster_slots_assigned:16384/.test(info);
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Waits until every given node says the cluster is ok, or fails at the deadline. */
export async function waitForCluster(nodes: readonly LocalRedis[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(nodes.map(clusterOk));
    if (states.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error('the local Redis Cluster did not reach cluster_state:ok');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function startLocalCluster(options: ClusterOptions = {}): Promise<LocalCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const nodes = await Promise.all(
    Array.from({ length: masters * (1 + replicas) }, () =>
      startLocalRedis({
        args: [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          String(options.nodeTimeoutMs ?? 2000),
          // A replica takes over even if it lost touch with its master a while before it died.
          '--cluster-replica-validity-factor',
          '0',
        ],
      }),
    ),
  );
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  const seeds = nodes.map((node) => `${node.host}:${node.port}`);
  try {
    await run(redisCli(), ['--cluster', 'create', ...seeds, '--cluster-replicas', String(replicas), '--cluster-yes'], {
      timeout: 30_000,
    });
    await waitForCluster(nodes);
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, seeds, url: clusterUrl(seeds), stop };
}
