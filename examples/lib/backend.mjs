#!/usr/bin/env node
// The protected backend of the gateway examples (nginx, Caddy): answers every request with the method, path and
// headers it received, so you can see what the gateway passed upstream (X-Auth-Subject, ...).
//   node examples/lib/backend.mjs [port]      (port 0 or none: a free one; printed on stdout)
import { createServer } from 'node:http';

const server = createServer((request, response) => {
  const body = JSON.stringify({ method: request.method, path: request.url, headers: request.headers });
  response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  response.end(body);
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  console.log(`backend listening on ${server.address().port}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
