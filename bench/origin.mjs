// Benchmark origin: fixed bodies from memory. /1k and /100k are cacheable for an hour; /miss/* is
// cacheable too but every URL is new, so each request is an edge miss (fetch + store).
// GET /__requests answers how many requests it has served (benchmarks count origin fetches).
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 9100);
const bodies = { '/1k': Buffer.alloc(1024, 'a'), '/100k': Buffer.alloc(100 * 1024, 'b') };
const headers = (body) => ({
  'content-type': 'application/octet-stream',
  'cache-control': 'public, max-age=3600',
  'content-length': body.length,
});

let served = 0;
createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/__requests') return res.end(String(served));
  served++;
  const body = bodies[path] ?? (path.startsWith('/miss/') ? bodies['/1k'] : undefined);
  if (!body) {
    res.writeHead(404, { 'content-length': 0 });
    return res.end();
  }
  res.writeHead(200, headers(body));
  res.end(body);
}).listen(port, '127.0.0.1', () => process.send?.('ready'));
