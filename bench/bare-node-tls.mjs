// The ceiling for a Node HTTPS edge on this machine: a bare node:http2 secure server (allowHTTP1,
// ALPN h2 and http/1.1, as the edge's listener), 2 workers, answering /1k from memory with a hit's
// headers — HTTP/1.1 through node:http's response, HTTP/2 streams through the core API as the edge
// serves them (src/tls/h2-exchange.ts). bench/tls.ts measures it beside cachefront and nginx.
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { createSecureServer } from 'node:http2';

const [port, certFile, keyFile] = process.argv.slice(2);
const body = Buffer.alloc(1024, 'a');
const headers = {
  'content-type': 'application/octet-stream',
  'cache-control': 'public, max-age=3600',
  'content-length': String(body.length),
  age: '0',
};
if (cluster.isPrimary) {
  for (let i = 0; i < 2; i++) cluster.fork();
} else {
  const server = createSecureServer(
    { allowHTTP1: true, cert: readFileSync(certFile), key: readFileSync(keyFile), minVersion: 'TLSv1.2' },
    (_req, res) => {
      res.writeHead(200, headers);
      res.end(body);
    },
  );
  // The request listener made node:http2 add its compatibility handler for streams: replaced.
  server.removeAllListeners('stream');
  server.on('stream', (stream) => {
    stream.on('error', () => {});
    stream.respond({ ':status': 200, ...headers });
    stream.end(body);
  });
  server.listen(Number(port), '127.0.0.1');
}
