/**
 * infra/ validated as far as this machine allows (no Docker engine, no Kubernetes): every YAML
 * parses, the edge configuration loads and is the one the manifests carry, redis-server starts with
 * both Redis configurations, promtool accepts the Prometheus config and alert rules (and their unit
 * tests), and the Dockerfile builds a non-root runtime stage.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { loadConfigFile, parseConfig } from '../../../src/config/load.js';
import { startLocalRedis } from '../../../src/redis/local-server.js';
import { HAVE_PROMETHEUS } from '../../helpers/tools.js';

const ROOT = process.cwd();
const INFRA = join(ROOT, 'infra');

// biome-ignore lint/suspicious/noExplicitAny: manifests are checked field by field
type Doc = any;

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? yamlFiles(join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

function documents(file: string): Doc[] {
  // Merge keys (`<<: *anchor`) as docker compose reads them.
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { merge: true });
  for (const doc of docs) expect(doc.errors, file).toEqual([]);
  return docs.map((d) => d.toJS());
}

describe('infra', () => {
  it('every YAML file parses', () => {
    const files = [...yamlFiles(INFRA), ...yamlFiles(join(ROOT, 'grafana', 'provisioning'))];
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const file of files) expect(documents(file).length, file).toBeGreaterThan(0);
  });

  it('the edge configuration loads, and the Kubernetes ConfigMap carries exactly it', () => {
    const file = join(INFRA, 'config', 'cachefront.yaml');
    const config = loadConfigFile(file);
    expect(config.redis.fallback).toBe('none');
    const manifests = documents(join(INFRA, 'k8s', 'edge.yaml'));
    const configMap = manifests.find((d) => d.kind === 'ConfigMap');
    expect(configMap.data['cachefront.yaml']).toBe(readFileSync(file, 'utf8'));
    expect(parseConfig(parseYaml(configMap.data['cachefront.yaml']), 'configmap', {}).services[0]?.id).toBe('example');

    const deployment = manifests.find((d) => d.kind === 'Deployment');
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    const ports = container.ports.map((p: { containerPort: number }) => p.containerPort).sort();
    expect(ports).toEqual([config.edge.listen.port, config.admin.listen.port, config.metrics.listen.port].sort());
    // Long enough for the edge's own drain.
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(config.edge.shutdownGraceMs);
    expect(deployment.spec.template.metadata.annotations['prometheus.io/port']).toBe(
      String(config.metrics.listen.port),
    );
  });

  it('docker-compose runs Redis, an origin, two edges, Prometheus and Grafana with files that exist', () => {
    const [compose] = documents(join(INFRA, 'docker-compose.yml'));
    expect(Object.keys(compose.services).sort()).toEqual([
      'edge1',
      'edge2',
      'grafana',
      'origin',
      'prometheus',
      'redis',
    ]);
    for (const service of Object.values(compose.services) as { volumes?: string[] }[]) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0] as string;
        expect(existsSync(join(INFRA, source)), volume).toBe(true);
      }
    }
    expect(compose.services.edge1.volumes).toContain('./config:/etc/cachefront:ro');
    expect(compose.services.redis.volumes[0]).toMatch(/^\.\/redis\.conf:/);
  });

  it('the cluster compose runs six Redis nodes joined three by three, and edges configured for the cluster', () => {
    const [compose] = documents(join(INFRA, 'docker-compose.cluster.yml'));
    const nodes = Object.keys(compose.services).filter((name) => /^redis-\d$/.test(name));
    expect(nodes).toHaveLength(6);
    for (const name of nodes) {
      expect(compose.services[name].command).toEqual(expect.arrayContaining(['--cluster-enabled', 'yes']));
      expect(compose.services[name].volumes[0]).toMatch(/^\.\/redis\.conf:/);
    }
    const create = compose.services['redis-cluster-init'].command.join(' ');
    for (const name of nodes) expect(create).toContain(`${name}:6379`);
    expect(create).toContain('--cluster-replicas 1');
    for (const edge of ['edge1', 'edge2']) {
      expect(compose.services[edge].volumes).toContain('./config-cluster:/etc/cachefront:ro');
      expect(compose.services[edge].depends_on['redis-cluster-init'].condition).toBe('service_completed_successfully');
    }
    const config = loadConfigFile(join(INFRA, 'config-cluster', 'cachefront.yaml'), {});
    expect(config.redis.url).toMatch(/^redis\+cluster:\/\/redis-1:6379,/);
    expect(config.redis.serviceShards).toBeGreaterThanOrEqual(3);
  });

  it('the Kubernetes cluster runs six Redis pods in cluster mode, joined three by three by a Job', () => {
    const docs = documents(join(INFRA, 'k8s', 'redis-cluster.yaml'));
    const of = (kind: string) => docs.find((d) => d.kind === kind);
    expect(of('StatefulSet').spec.replicas).toBe(6);
    expect(of('Service').spec.clusterIP).toBe('None');
    expect(of('ConfigMap').data['redis.conf']).toMatch(/^cluster-enabled yes$/m);
    const join6 = of('Job').spec.template.spec.containers[0].args.join(' ');
    for (let n = 0; n < 6; n++) expect(join6).toContain(`redis-cluster-${n}.redis-cluster:6379`);
    expect(join6).toContain('--cluster-replicas 1');
  });

  it('the Dockerfile builds in one stage and runs in another, as a non-root user', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const stages = dockerfile.split(/^FROM /m).slice(1);
    expect(stages.length).toBe(2);
    const runtime = stages[1] as string;
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/COPY --from=build \/app\/dist/);
    expect(runtime).toMatch(/COPY lua/);
    expect(runtime).toMatch(/--omit=dev/);
    expect(runtime).toMatch(/ENTRYPOINT \["node", "bin\/cachefront\.mjs", "serve"\]/);
  });

  it.skipIf(!HAVE_PROMETHEUS)('promtool accepts the Prometheus config, the alert rules and their unit tests', () => {
    const dir = join(INFRA, 'prometheus');
    for (const args of [
      ['check', 'config', 'prometheus.yml'],
      ['check', 'rules', 'alerts.yml'],
      ['test', 'rules', 'alerts.test.yml'],
    ]) {
      const run = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8' });
      expect(run.status, `promtool ${args.join(' ')}\n${run.stdout}${run.stderr}`).toBe(0);
    }
  });

  it.each([
    ['infra/redis.conf (with compose’s --maxmemory)', () => join(INFRA, 'redis.conf'), ['--maxmemory', '512mb']],
    [
      'the Kubernetes ConfigMap’s redis.conf',
      () => {
        const [configMap] = documents(join(INFRA, 'k8s', 'redis.yaml'));
        const file = join(mkdtempSync(join(tmpdir(), 'cachefront-k8s-redis-')), 'redis.conf');
        writeFileSync(file, configMap.data['redis.conf']);
        return file;
      },
      [],
    ],
    [
      'the Kubernetes cluster ConfigMap’s redis.conf',
      () => {
        const [configMap] = documents(join(INFRA, 'k8s', 'redis-cluster.yaml'));
        const dir = mkdtempSync(join(tmpdir(), 'cachefront-k8s-cluster-'));
        const file = join(dir, 'redis.conf');
        // nodes.conf where this machine lets the test write it.
        writeFileSync(file, configMap.data['redis.conf'].replace('/data/nodes.conf', join(dir, 'nodes.conf')));
        return file;
      },
      [],
    ],
  ] as const)('redis-server starts with %s', async (_name, confFile, extra) => {
    const server = await startLocalRedis({ config: confFile(), args: [...extra] });
    const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
    try {
      expect(await client.ping()).toBe('PONG');
      expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'volatile-lfu']);
      const [, maxmemory] = (await client.config('GET', 'maxmemory')) as [string, string];
      expect(Number(maxmemory)).toBeGreaterThan(0);
    } finally {
      client.disconnect();
      await server.stop();
    }
  });
});
