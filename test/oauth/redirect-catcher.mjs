// A tiny loopback HTTP server standing in for a relying party's redirect URI: it records the
// query of each request to /callback and shows a plain page.
import http from 'node:http';

export async function startRedirectCatcher() {
  const waiting = [];
  const seen = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname !== '/callback') {
      res.statusCode = 404;
      res.end();
      return;
    }
    const params = Object.fromEntries(url.searchParams);
    seen.push(params);
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end('<!doctype html><title>Signed in</title><h1 id="done">Redirect received</h1>');
    for (const resolve of waiting.splice(0)) resolve(params);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    redirectUri: `http://127.0.0.1:${port}/callback`,
    seen,
    // The next (or the already received) callback's query parameters.
    next() {
      return seen.length ? Promise.resolve(seen.at(-1)) : new Promise((r) => waiting.push(r));
    },
    close() {
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
