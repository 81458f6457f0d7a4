// A small origin for trying the edge: pages with different caching headers. `npm start` runs it
// on 127.0.0.1:8081 (PORT overrides).
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8081);
// Loopback unless told otherwise (docker-compose sets ORIGIN_HOST=0.0.0.0).
const host = process.env.ORIGIN_HOST ?? '127.0.0.1';
let counter = 0;

const routes = {
  '/': () => ({
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'public, max-age=60' },
    body: `<!doctype html><title>cachefront example</title><h1>Hello from the origin</h1><p>render #${++counter} at ${new Date().toISOString()}</p>`,
  }),
  '/static/app.js': () => ({
    headers: { 'content-type': 'text/javascript', 'cache-control': 'public, max-age=3600' },
    body: `console.log('app', ${JSON.stringify(new Date().toISOString())});\n`,
  }),
  '/api/time': () => ({
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify({ now: new Date().toISOString() }),
  }),
  '/account': () => ({
    headers: { 'content-type': 'text/plain', 'cache-control': 'private, max-age=60' },
    body: 'your private page\n',
  }),
  '/device': (req) => {
    const mobile = /Mobi|Android|iPhone/i.test(req.headers['user-agent'] ?? '');
    return {
      headers: { 'content-type': 'text/plain', 'cache-control': 'max-age=120', vary: 'User-Agent' },
      body: mobile ? 'mobile layout\n' : 'desktop layout\n',
    };
  },
};

createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  const route = routes[path];
  if (!route) {
    res.writeHead(404, { 'content-type': 'text/plain', 'cache-control': 'max-age=10' });
    res.end('not found\n');
    return;
  }
  const { headers, body } = route(req);
  res.writeHead(200, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}).listen(port, host, () => console.log(`[example origin] listening on http://${host}:${port}`));
