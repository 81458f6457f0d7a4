/**
 * Browser-like traffic to replay through the edge, from a seed: a site of pages, styles, scripts,
 * API responses, images and fonts with Zipf popularity, origins that compress in different ways
 * (never, gzip only, Brotli and gzip; with or without Vary), and visitors as they really arrive —
 * many browsers and bots with their own Accept-Encoding spellings and User-Agents, query strings in
 * any order with tracking parameters, analytics cookies after the first page, some logged in.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { brotliCompressSync, gzipSync } from 'node:zlib';

/** Mulberry32: a small, fast, seedable PRNG (the replay must be the same every run). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Kind = 'page' | 'css' | 'js' | 'api' | 'image' | 'font';
type Compression = 'none' | 'gzip' | 'br-gzip';

interface Resource {
  path: string;
  kind: Kind;
  compression: Compression;
  vary: boolean;
  /** Pages that vary on the device. */
  device: boolean;
  /** Query parameters the resource really takes (sent in any order). */
  params: [string, string][];
}

interface Visitor {
  userAgent: string;
  acceptEncoding: string | undefined;
  session: string | undefined;
  analytics: boolean;
}

/** [weight, User-Agent, Accept-Encoding] of the clients that arrive, browsers and bots alike. */
const CLIENTS: [number, string, string | undefined][] = [
  [
    30,
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    'gzip, deflate, br, zstd',
  ],
  [
    14,
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
    'gzip, deflate, br, zstd',
  ],
  [
    14,
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
    'gzip, deflate, br',
  ],
  [
    10,
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
    'gzip, deflate, br',
  ],
  [9, 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0', 'gzip, deflate, br, zstd'],
  [
    4,
    'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
    'gzip, deflate, br',
  ],
  [3, 'Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko', 'gzip, deflate'],
  [5, 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'gzip, deflate, br'],
  [3, 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)', 'gzip, deflate'],
  [3, 'python-requests/2.31.0', 'gzip, deflate'],
  [2, 'curl/8.5.0', undefined],
  [2, 'Go-http-client/1.1', 'gzip'],
  [1, 'Wget/1.21.4', 'identity'],
];

const KINDS: [number, Kind][] = [
  [30, 'page'],
  [15, 'css'],
  [15, 'js'],
  [15, 'api'],
  [20, 'image'],
  [5, 'font'],
];

const CONTENT_TYPE: Record<Kind, string> = {
  page: 'text/html; charset=utf-8',
  css: 'text/css',
  js: 'application/javascript',
  api: 'application/json',
  image: 'image/jpeg',
  font: 'font/woff2',
};

function pick<T>(rng: () => number, weighted: [number, T][]): T {
  const total = weighted.reduce((n, [w]) => n + w, 0);
  let r = rng() * total;
  for (const [w, value] of weighted) {
    r -= w;
    if (r < 0) return value;
  }
  return (weighted.at(-1) as [number, T])[1];
}

export interface Replay {
  resources: Resource[];
  requests: { path: string; headers: Record<string, string> }[];
}

/** `count` requests from `visitors` visitors over `size` resources. */
export function makeReplay(seed: number, size: number, count: number, visitors: number): Replay {
  const rng = random(seed);
  const resources: Resource[] = Array.from({ length: size }, (_, i) => {
    const kind = pick(rng, KINDS);
    const text = kind !== 'image' && kind !== 'font';
    const compression = text
      ? pick<Compression>(rng, [
          [25, 'none'],
          [45, 'gzip'],
          [30, 'br-gzip'],
        ])
      : 'none';
    const params: [string, string][] =
      kind === 'api'
        ? [
            ['page', String(1 + (i % 3))],
            ['sort', 'desc'],
          ]
        : kind === 'page' && i % 4 === 0
          ? [['lang', 'en']]
          : [];
    return {
      path: `/${kind}/${i}${kind === 'image' ? '.jpg' : kind === 'css' ? '.css' : kind === 'js' ? '.js' : ''}`,
      kind,
      compression,
      vary: compression !== 'none' && rng() < 0.85,
      device: kind === 'page' && rng() < 0.3,
      params,
    };
  });
  // Zipf popularity (s = 1): the resource of rank k is requested in proportion to 1/k.
  const weights = resources.map((r, k): [number, Resource] => [1 / (k + 1), r]);
  const people: Visitor[] = Array.from({ length: visitors }, () => {
    const [, userAgent, acceptEncoding] = pick(
      rng,
      CLIENTS.map((c): [number, (typeof CLIENTS)[number]] => [c[0], c]),
    );
    const browser = userAgent.startsWith('Mozilla/5.0 (') && !userAgent.includes('bot');
    return {
      userAgent,
      acceptEncoding,
      session: browser && rng() < 0.15 ? `s${Math.floor(rng() * 1e9)}` : undefined,
      analytics: false,
    };
  });
  const requests = Array.from({ length: count }, () => {
    const visitor = people[Math.floor(rng() * people.length)] as Visitor;
    const resource = pick(rng, weights);
    const params = [...resource.params];
    if (rng() < 0.1) params.push(['utm_source', ['news', 'social', 'ads'][Math.floor(rng() * 3)] as string]);
    if (rng() < 0.03) params.push(['fbclid', `IwAR${Math.floor(rng() * 1e9)}`]);
    if (rng() < 0.5) params.reverse();
    const query = params.map(([k, v]) => `${k}=${v}`).join('&');
    const headers: Record<string, string> = { 'user-agent': visitor.userAgent, accept: '*/*' };
    if (visitor.acceptEncoding !== undefined) headers['accept-encoding'] = visitor.acceptEncoding;
    const cookies = [
      ...(visitor.analytics ? [`_ga=GA1.2.${visitor.userAgent.length}.1700000000`, '_gid=GA1.2.1.1700000000'] : []),
      ...(visitor.session ? [`session=${visitor.session}`] : []),
    ];
    if (cookies.length > 0) headers.cookie = cookies.join('; ');
    // A browser that ran a page's scripts carries the analytics cookies from then on.
    if (
      resource.kind === 'page' &&
      visitor.userAgent.startsWith('Mozilla/5.0 (') &&
      !visitor.userAgent.includes('bot')
    ) {
      visitor.analytics = true;
    }
    return { path: query === '' ? resource.path : `${resource.path}?${query}`, headers };
  });
  return { resources, requests };
}

/** The replay's origin: each resource as its kind and compression say, cacheable for an hour. */
export function replayOrigin(replay: Replay) {
  const byPath = new Map(replay.resources.map((r) => [r.path, r]));
  const bodies = new Map<string, Buffer>();
  return (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    const resource = byPath.get(path);
    if (!resource) {
      res.writeHead(404, { 'content-length': '0' });
      return void res.end();
    }
    let body = bodies.get(path);
    if (!body) {
      const text = `${resource.kind} ${path} `.repeat(resource.kind === 'page' ? 600 : 200);
      body =
        resource.kind === 'image' || resource.kind === 'font' ? Buffer.alloc(6000, path.length) : Buffer.from(text);
      bodies.set(path, body);
    }
    const ae = String(req.headers['accept-encoding'] ?? '');
    const headers: Record<string, string> = {
      'content-type': CONTENT_TYPE[resource.kind],
      'cache-control': 'public, max-age=3600',
    };
    const vary = [...(resource.vary ? ['Accept-Encoding'] : []), ...(resource.device ? ['User-Agent'] : [])];
    if (vary.length > 0) headers.vary = vary.join(', ');
    if (resource.compression === 'br-gzip' && /\bbr\b/.test(ae)) {
      headers['content-encoding'] = 'br';
      body = brotliCompressSync(body);
    } else if (resource.compression !== 'none' && /\bgzip\b/.test(ae)) {
      headers['content-encoding'] = 'gzip';
      body = gzipSync(body);
    }
    res.writeHead(200, headers);
    res.end(body);
  };
}
