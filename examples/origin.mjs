// A small origin for trying the edge: pages with different caching headers, a page tagged for
// purging by tag, real images (made with sharp at start-up, so the AVIF/WebP paths have something
// to do), CSS and JavaScript large enough to be stored compressed. `npm start` runs it on
// 127.0.0.1:8081 (PORT overrides).
import { createServer } from 'node:http';
import sharp from 'sharp';

const port = Number(process.env.PORT ?? 8081);
// Loopback unless told otherwise (docker-compose sets ORIGIN_HOST=0.0.0.0).
const host = process.env.ORIGIN_HOST ?? '127.0.0.1';
let counter = 0;

/** A photo-like JPEG: smooth gradients with fine grain, 1200×800. */
async function photo() {
  const width = 1200;
  const height = 800;
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const grain = ((x * 7919 + y * 104729) % 23) - 11;
      pixels[i] = Math.max(0, Math.min(255, (x / width) * 200 + 30 + grain));
      pixels[i + 1] = Math.max(0, Math.min(255, (y / height) * 160 + 60 + grain));
      pixels[i + 2] = Math.max(0, Math.min(255, 180 - (x / width) * 120 + grain));
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 92 })
    .toBuffer();
}

/** A flat-colour logo as PNG. */
function logo() {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="240">
    <rect width="480" height="240" fill="#f4f1ea"/>
    <circle cx="120" cy="120" r="80" fill="#d94f30"/>
    <rect x="230" y="60" width="200" height="40" rx="8" fill="#2c3e50"/>
    <rect x="230" y="130" width="140" height="40" rx="8" fill="#16a085"/>
  </svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

const css = Array.from(
  { length: 80 },
  (_, i) => `.card-${i} { margin: ${i % 8}px; padding: 1rem; border: 1px solid #ddd; color: #333; }`,
).join('\n');
const js = `// app.js\n${Array.from({ length: 60 }, (_, i) => `export function widget${i}(el) { el.dataset.widget = '${i}'; return el; }`).join('\n')}\n`;
const page = (title, body) =>
  `<!doctype html><html><head><title>${title}</title><link rel="stylesheet" href="/static/site.css"></head><body><h1>${title}</h1>${body}<script src="/static/app.js"></script></body></html>`;

const images = { '/images/photo.jpg': ['image/jpeg', await photo()], '/images/logo.png': ['image/png', await logo()] };

const routes = {
  '/': () => ({
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'public, max-age=60' },
    body: page('Hello from the origin', `<p>render #${++counter} at ${new Date().toISOString()}</p>`),
  }),
  '/hello': () => ({
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'public, max-age=300' },
    body: `hello from the origin (render #${++counter})\n`,
  }),
  '/products/123': () => ({
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'public, max-age=3600',
      'surrogate-key': 'product-123 catalogue',
    },
    body: page('Product 123', '<p>A product page, tagged product-123: purge it by tag.</p>'.repeat(20)),
  }),
  '/blog/': () => ({
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'public, max-age=600' },
    body: page('Blog', '<p>Posts, cached ten minutes: the list of everything written here.</p>'.repeat(30)),
  }),
  '/blog/first-post': () => ({
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'public, max-age=600' },
    body: page('First post', '<p>Hello, world. This is the first post of the example blog.</p>'.repeat(30)),
  }),
  '/static/site.css': () => ({
    headers: { 'content-type': 'text/css', 'cache-control': 'public, max-age=86400' },
    body: css,
  }),
  '/static/app.js': () => ({
    headers: { 'content-type': 'text/javascript', 'cache-control': 'public, max-age=86400' },
    body: js,
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
  const image = images[path];
  if (image) {
    res.writeHead(200, {
      'content-type': image[0],
      'cache-control': 'public, max-age=86400',
      'content-length': image[1].length,
    });
    return res.end(image[1]);
  }
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
