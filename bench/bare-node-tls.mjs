// The ceiling for a Node HTTPS edge on this machine: a bare node:http2 secure server (allowHTTP1,
// ALPN h2 and http/1.1, as the edge's listener), 2 workers, answering /1k from memory with a hit's
// headers. bench/tls.ts measures it beside cachefront and nginx ("node:http2, bare").
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { createSecureServer } from 'node:http2';

const [port, certFile, keyFile] = process.argv.slice(2);
const body = Buffer.alloc(1024, 'a');
if (cluster.isPrimary) {
  for (let i = 0; i < 2; i++) cluster.fork();
} else {
  createSecureServer(
    { allowHTTP1: true, cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.2' },
    (_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'cache-control': 'public, max-age=3600',
        'content-length': body.length,
        age: '0',
      });
      res.end(body);
    },
  ).listen(Number(port), '127.0.0.1');
}
