// Benchmark origin: fixed bodies from memory. /1k and /100k are cacheable for an hour; /miss/* is a
// 1 KiB HTML page, cacheable too, but every URL is new, so each request is a miss (fetch + store;
// the edge also compresses it). GET /__requests answers how many requests it has served
// (benchmarks count origin fetches with it).
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 9100);
const page = Buffer.from(
  Array.from({ length: 40 }, (_, i) => `<p>line ${i} of a page that compresses well</p>`).join('\n'),
).subarray(0, 1024);
const bodies = { '/1k': Buffer.alloc(1024, 'a'), '/100k': Buffer.alloc(100 * 1024, 'b') };

let served = 0;
createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/__requests') return res.end(String(served));
  served++;
  const miss = path.startsWith('/miss/');
  const body = miss ? page : bodies[path];
  if (!body) {
    res.writeHead(404, { 'content-length': 0 });
    return res.end();
  }
  res.writeHead(200, {
    'content-type': miss ? 'text/html; charset=utf-8' : 'application/octet-stream',
    'cache-control': 'public, max-age=3600',
    'content-length': body.length,
  });
  res.end(body);
}).listen(port, '127.0.0.1', () => process.send?.('ready'));
