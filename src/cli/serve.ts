/**
 * @module `cachefront serve`: resolves the store (the configured Redis, a local redis-server, or the
 * embedded in-process store, as the config's `redis.fallback` allows), then runs one edge per
 * worker process (node:cluster shares the listening sockets) and drains them on SIGTERM/SIGINT.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { availableParallelism } from 'node:os';
import pino, { type Logger } from 'pino';
import { AggregatorRegistry, Registry } from 'prom-client';
import { LiveConfig } from '../config/live-config.js';
import { readConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { CachefrontError } from '../errors.js';
import { redisReachable } from '../redis/connect.js';
import { findRedisServer, type LocalRedis, startLocalRedis } from '../redis/local-server.js';
import { PrimaryConfig } from './primary-config.js';
import { EMBEDDED, STORE_ENV } from './store-target.js';
import { PrimaryLink, reloadLocally, type WorkerContext } from './worker-config.js';
import {
  IMAGE_JOBS_WAITING,
  IMAGE_ROLE,
  isImageJobMessage,
  isImageWorkerReady,
  REMOTE_IMAGES_ENV,
  ROLE_ENV,
  TICKET_KEYS,
  TICKET_KEYS_ENV,
} from './worker-roles.js';

export const SERVE_HELP = `Usage: cachefront serve --config FILE [--workers N]

Starts the edge listener and the admin listener described by FILE.

Options:
  -c, --config FILE   configuration file (YAML or JSON); see docs/config.md
  -w, --workers N     worker processes (default: edge.workers, "auto" = one per CPU core)
  -h, --help          this text

Environment:
  REDIS_URL               overrides redis.url
  CACHEFRONT_EDGE_PORT    overrides edge.listen.port
  CACHEFRONT_ADMIN_PORT   overrides admin.listen.port
  CACHEFRONT_ADMIN_TOKEN  adds an operator token for the admin API
  LOG_LEVEL               pino log level (default info)
`;

export interface ServeOptions {
  configFile: string;
  workers?: number | undefined;
}

/**
 * JSON lines on stdout, written asynchronously: lines logged while a write is under way go out
 * together in the next one (the access log is a line per request), and whatever is buffered is
 * flushed when the process exits.
 */
export function createLogger(): Logger {
  return pino(
    { level: process.env.LOG_LEVEL ?? 'info', base: { pid: process.pid } },
    pino.destination({ dest: 1, sync: false }),
  );
}

/** The file's text and its configuration, or the error printed and undefined. */
export function loadTextOrExit(file: string): { text: string; config: Config } | undefined {
  try {
    return readConfigFile(file);
  } catch (error) {
    if (error instanceof CachefrontError) {
      console.error(error.message);
      return undefined;
    }
    throw error;
  }
}

interface ResolvedStore {
  /** A Redis URL, or "embedded". */
  target: string;
  local?: LocalRedis;
}

/** Decides where the cache lives, saying so when it is not the configured Redis. */
async function resolveStore(config: Config, log: Logger): Promise<ResolvedStore | undefined> {
  const { url, fallback } = config.redis;
  if (await redisReachable(url)) return { target: url };
  if (fallback === 'none') {
    log.error({ redis: url }, 'Redis is not reachable and redis.fallback is "none": refusing to start');
    return undefined;
  }
  if (findRedisServer()) {
    log.warn({ configured: url }, 'Redis is not reachable: starting a local redis-server for this edge');
    const local = await startLocalRedis();
    log.warn({ redis: local.url }, 'local redis-server started (it stops with the edge; nothing is persisted)');
    return { target: local.url, local };
  }
  if (fallback === 'local') {
    log.error({ redis: url }, 'Redis is not reachable and no redis-server is installed (redis.fallback is "local")');
    return undefined;
  }
  const banner = '!'.repeat(78);
  // Said twice on purpose: once plainly on the terminal, once in the structured log.
  console.error(
    `${banner}\n  NO REDIS: cachefront runs on the EMBEDDED IN-PROCESS STORE (single node, one worker).\n${banner}`,
  );
  log.warn(
    `\n${banner}\n  NO REDIS: running on the EMBEDDED IN-PROCESS STORE.\n  This node caches alone, in its own memory, ` +
      `with one worker; nothing is shared\n  with other nodes and everything is lost on restart. For production, ` +
      `run Redis\n  (apt-get install redis-server) and set redis.url or REDIS_URL.\n${banner}`,
  );
  return { target: EMBEDDED };
}

export async function serve(options: ServeOptions): Promise<number> {
  const log = createLogger();
  if (cluster.isWorker) return startWorker(options, log);
  // Until a handler is set, SIGHUP would end the process: a reload is never a stop.
  process.on('SIGHUP', () => undefined);
  const loaded = loadTextOrExit(options.configFile);
  if (!loaded) return 2;
  const { config } = loaded;
  const store = await resolveStore(config, log);
  if (!store) return 1;
  const configured = options.workers ?? config.edge.workers;
  const workers = store.target === EMBEDDED ? 1 : configured === 'auto' ? availableParallelism() : configured;

  if (workers === 1) {
    process.env[STORE_ENV] = store.target;
    serveMetrics(config.metrics.listen, log, false);
    const code = await startWorker(options, log);
    await store.local?.stop();
    return code;
  }
  // One image worker per node, when a service optimises images: sharp is loaded there only.
  const imageWorker = config.services.some((service) => service.transform.images.enabled);
  return runPrimary(
    {
      workers,
      withImageWorker: imageWorker,
      heapMiB: workerHeapMiB(config),
      ...(config.edge.tls ? { ticketKeyRotateMs: config.edge.tls.ticketKeyRotateMs } : {}),
    },
    store,
    log,
    (all) => new PrimaryConfig(options.configFile, loaded.text, config, log, all),
    config.metrics.listen,
  );
}

/**
 * A worker: the edge's modules are loaded here, on demand, so the primary stays small. Workers
 * connect to the store the primary resolved (REDIS_URL keeps any override visible).
 */
async function startWorker(options: ServeOptions, log: Logger): Promise<number> {
  const target = process.env[STORE_ENV];
  if (!target) return 2;
  // A forked worker runs what its primary runs; a single process reads the file.
  const link = cluster.isWorker ? new PrimaryLink() : undefined;
  let text: string;
  if (link) text = (await link.first()).text;
  else {
    const loaded = loadTextOrExit(options.configFile);
    if (!loaded) return 2;
    text = loaded.text;
  }
  let live: LiveConfig;
  try {
    live = new LiveConfig(text, options.configFile);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const reload = link ? () => link.reload() : async () => reloadLocally(options.configFile, live, log);
  // SIGHUP reloads a single process; a forked worker leaves it to the primary.
  process.on('SIGHUP', () => void (link ? undefined : reload()));
  const started = live.version.file;
  const context: WorkerContext = { live, reload, ready: () => link?.follow(live, started, log) };
  if (process.env[ROLE_ENV] === IMAGE_ROLE) {
    const { runImageWorker } = await import('./image-worker.js');
    return runImageWorker(context, target, log);
  }
  const { runWorker } = await import('./serve-worker.js');
  return runWorker(context, target, log);
}

/**
 * The metrics listener. Under a primary: every worker's metrics, aggregated (prom-client asks each
 * worker over IPC; counters add up, the gauges read from Redis take one worker's value). A single
 * process serves its own.
 */
export function serveMetrics(listen: { host: string; port: number }, log: Logger, clustered: boolean): void {
  const aggregator = clustered ? new AggregatorRegistry() : undefined;
  // A single process serves its own registry (imported with the edge, which it runs anyway).
  const collect = async () =>
    aggregator ? aggregator.clusterMetrics() : (await import('../metrics/metrics.js')).register.metrics();
  const server = createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: /metrics\n');
      return;
    }
    collect().then(
      (text) => res.writeHead(200, { 'content-type': Registry.PROMETHEUS_CONTENT_TYPE }).end(text),
      (error: unknown) => {
        log.warn({ err: error }, 'collecting the workers’ metrics failed');
        res.writeHead(503, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
      },
    );
  });
  server.on('error', (error) => log.error({ err: error, listen }, 'the metrics listener could not start'));
  server.listen(listen.port, listen.host, () =>
    log.info({ metrics: `${listen.host}:${listen.port}` }, 'metrics listening'),
  );
  server.unref();
}

/**
 * The V8 heap a worker may grow to (MiB): its L1 plus room for everything else, so V8 collects
 * before a worker's memory runs past its budget (docs/operations.md, "Memory budget").
 */
function workerHeapMiB(config: Config): number | undefined {
  const setting = config.edge.workerHeapBytes;
  if (setting === 0) return undefined;
  const bytes = setting === 'auto' ? config.l1.maxBytes + 192 * 1024 * 1024 : setting;
  return Math.ceil(bytes / (1024 * 1024));
}

/** After the image worker dies, image jobs keep their originals this long before another starts. */
const IMAGE_WORKER_RESTART_MS = 5000;

/**
 * Forks the edge workers (and the image worker), replaces any that die, passes the edge workers'
 * image jobs to the image worker, and drains them all on a signal.
 */
function runPrimary(
  layout: { workers: number; withImageWorker: boolean; heapMiB: number | undefined; ticketKeyRotateMs?: number },
  store: ResolvedStore,
  log: Logger,
  configFor: (workers: () => Worker[]) => PrimaryConfig,
  metricsListen: { host: string; port: number },
): Promise<number> {
  const { workers, withImageWorker, heapMiB } = layout;
  const configuration = configFor(() => Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w));
  return new Promise((resolve) => {
    let stopping = false;
    if (heapMiB !== undefined) {
      cluster.setupPrimary({ execArgv: [...process.execArgv, `--max-old-space-size=${heapMiB}`] });
    }
    // glibc gives every thread that allocates its own arena (libuv's pool compresses and sharp
    // re-encodes on several), and freed memory fragments across them: RSS grows though nothing is
    // held. Two arenas keep a worker's RSS near what it uses (an operator's setting wins).
    const env = {
      [STORE_ENV]: store.target,
      MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
      ...(withImageWorker ? { [REMOTE_IMAGES_ENV]: '1' } : {}),
    };
    // The image worker starts with the first image job; jobs wait (bounded) until it says ready.
    let images: Worker | undefined;
    let imagesReady = false;
    let imagesPausedUntil = 0;
    const waiting: object[] = [];
    const forkImages = () => {
      imagesReady = false;
      images = cluster.fork({ ...env, [ROLE_ENV]: IMAGE_ROLE });
    };
    // Session tickets: one key for the node, so a client resumes on whichever worker it reaches;
    // replaced every edge.tls.ticketKeyRotateMs (a worker forked later gets the current one).
    let ticketKeys = randomBytes(48);
    if (layout.ticketKeyRotateMs !== undefined) {
      setInterval(() => {
        ticketKeys = randomBytes(48);
        for (const worker of Object.values(cluster.workers ?? {})) {
          if (worker?.isConnected()) worker.send({ type: TICKET_KEYS, keys: ticketKeys.toString('hex') });
        }
      }, layout.ticketKeyRotateMs).unref();
    }
    const fork = () => cluster.fork({ ...env, [TICKET_KEYS_ENV]: ticketKeys.toString('hex') });
    for (let i = 0; i < workers; i++) fork();
    cluster.on('message', (worker, message: unknown) => {
      if (configuration.handle(worker, message)) return;
      if (worker === images) {
        if (!isImageWorkerReady(message)) return;
        imagesReady = true;
        for (const job of waiting.splice(0)) images.send(job);
        return;
      }
      if (!withImageWorker || stopping || !isImageJobMessage(message)) return;
      if (!images) {
        if (Date.now() < imagesPausedUntil) return; // the original stays, as when the queue is full
        forkImages();
      }
      if (imagesReady && images?.isConnected()) images.send(message as object);
      else if (waiting.length < IMAGE_JOBS_WAITING) waiting.push(message as object);
    });
    cluster.on('exit', (worker, code, signal) => {
      configuration.forget(worker);
      if (stopping) {
        if (Object.keys(cluster.workers ?? {}).length === 0) {
          void (store.local?.stop() ?? Promise.resolve()).then(() => resolve(0));
        }
        return;
      }
      if (worker === images) {
        // Not restarted in a loop: the next image job after a pause starts another.
        images = undefined;
        imagesPausedUntil = Date.now() + IMAGE_WORKER_RESTART_MS;
        log.error({ worker: worker.process.pid, code, signal }, 'image worker died; the next image job starts another');
        return;
      }
      log.error({ worker: worker.process.pid, code, signal }, 'worker died; starting another');
      setTimeout(fork, 500);
    });
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping: draining workers');
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      if (!stopping) void configuration.reload();
    });
    log.info({ workers, imageWorker: withImageWorker, store: store.target }, 'edge primary started');
    serveMetrics(metricsListen, log, true);
  });
}
