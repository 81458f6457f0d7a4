// The ceiling for a Node edge on this machine: a bare node:http server, 2 workers like the edge,
// answering /1k and /100k from memory with the headers a cache hit carries. bench/run.ts measures
// it beside the caches ("node:http, bare"): what the edge's own work costs is the distance to it.
import cluster from 'node:cluster';
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 9101);
const bodies = { '/1k': Buffer.alloc(1024, 'a'), '/100k': Buffer.alloc(100 * 1024, 'b') };
if (cluster.isPrimary) {
  for (let i = 0; i < 2; i++) cluster.fork();
} else {
  createServer((req, res) => {
    const body = bodies[(req.url ?? '/').split('?')[0]];
    if (!body) return res.writeHead(404, { 'content-length': 0 }).end();
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'cache-control': 'public, max-age=3600',
      'content-length': body.length,
      age: '0',
    });
    res.end(body);
  }).listen(port, '127.0.0.1');
}
