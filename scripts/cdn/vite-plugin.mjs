// A Vite plugin for the CDN script's browser tests (test/browser/cdn.test.ts): serves dist/ as it
// is under /zf-cdn/ (Vite would otherwise rewrite the built script as a module), plus test pages
// beside it, /zf-cdn/page.html?body=tag|api[&csp=...], with a real Content-Security-Policy header.
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = resolve(fileURLToPath(new URL('../../dist', import.meta.url)));
const TYPES = {
  '.js': 'text/javascript; charset=utf-8', '.json': 'application/json; charset=utf-8',
  '.png': 'image/png', '.bin': 'application/octet-stream', '.md': 'text/markdown; charset=utf-8',
};
const BODIES = {
  tag: '<script src="zf-visualizer.min.js"></script>\n<zf-visualizer></zf-visualizer>',
  api: '<script src="zf-visualizer.min.js"></script>',
};

export function cdnFiles() {
  return {
    name: 'zf-cdn-files',
    configureServer(server) {
      server.middlewares.use(async (req, res, next) => {
        const url = new URL(req.url ?? '/', 'http://localhost');
        if (!url.pathname.startsWith('/zf-cdn/')) return next();
        const path = decodeURIComponent(url.pathname.slice('/zf-cdn/'.length));
        if (path === 'page.html') {
          const headers = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' };
          const csp = url.searchParams.get('csp');
          if (csp) headers['content-security-policy'] = csp;
          res.writeHead(200, headers);
          return res.end(`<!doctype html><html><head><meta charset="utf-8"><title>zf-visualizer CDN page</title></head>` +
            `<body>\n${BODIES[url.searchParams.get('body') ?? 'tag'] ?? ''}\n</body></html>`);
        }
        const file = normalize(join(dist, path));
        if (!file.startsWith(dist + sep)) { res.statusCode = 403; return res.end(); }
        try {
          const bytes = await readFile(file);
          res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': bytes.length,
            'cache-control': 'no-store' });
          res.end(bytes);
        } catch {
          res.statusCode = 404;
          res.end('not found');
        }
      });
    },
  };
}
