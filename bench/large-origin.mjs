// Benchmark origin for large objects: GET /bytes/<n> streams n bytes (a 1 MiB pattern repeated,
// never the whole body in memory), cacheable for an hour, with its Content-Length.
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 9200);
const piece = Buffer.alloc(1024 * 1024);
for (let i = 0; i < piece.length; i++) piece[i] = (i * 7) & 255;

createServer((req, res) => {
  const match = /^\/bytes\/(\d+)/.exec(req.url ?? '');
  if (!match) {
    res.writeHead(404, { 'content-length': 0 });
    return res.end();
  }
  const total = Number(match[1]);
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'cache-control': 'public, max-age=3600',
    'content-length': total,
  });
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      const n = Math.min(piece.length, total - sent);
      sent += n;
      if (!res.write(n === piece.length ? piece : piece.subarray(0, n))) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
}).listen(port, '127.0.0.1', () => process.send?.('ready'));
