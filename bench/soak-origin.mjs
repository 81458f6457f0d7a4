// The soak benchmark's origin: cold and hot text, large and too-large bodies, and a failure mode
// the benchmark switches on and off (POST /__fail/on|off) to make the origin flap.
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const text = Buffer.from('<p>soak text that compresses, more or less like a page would</p>\n'.repeat(16));
const large = Buffer.alloc(2 * 1024 * 1024, 'l');
const tooLarge = Buffer.alloc(12 * 1024 * 1024, 't');
let failing = false;

createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/__fail/on' || path === '/__fail/off') {
    failing = path.endsWith('on');
    return res.end(String(failing));
  }
  if (failing) {
    // Half the failures are a 503, half a connection reset: both are what flapping looks like.
    if (Math.random() < 0.5) return req.socket.destroy();
    res.writeHead(503, { 'content-type': 'text/plain' });
    return res.end('down');
  }
  const body = path.startsWith('/large/') ? large : path.startsWith('/huge/') ? tooLarge : text;
  const maxAge = path.startsWith('/hot/') ? 20 : 3600;
  res.writeHead(200, {
    'content-type': path.startsWith('/large/') || path.startsWith('/huge/') ? 'application/octet-stream' : 'text/html',
    'cache-control': `public, max-age=${maxAge}, stale-if-error=600`,
    'content-length': body.length,
  });
  res.end(body);
}).listen(port, '127.0.0.1', () => process.send?.('ready'));
