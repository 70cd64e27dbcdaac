// @ts-check
// A tiny JWKS server on 127.0.0.1 for the hono/jwk peer, in a worker thread so it does not
// share the load generator's event loop. GET /<alg>/jwks.json → {"keys":[<public jwk>]}.
import { createServer } from 'node:http';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

if (!isMainThread && parentPort) {
  const port = parentPort;
  const bodies = new Map(Object.entries(workerData.jwks).map(([alg, jwks]) => [`/${alg}/jwks.json`, JSON.stringify(jwks)]));
  let served = 0;
  const server = createServer((req, res) => {
    const body = bodies.get(req.url ?? '');
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    served++;
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' }).end(body);
  });
  server.keepAliveTimeout = 30_000;
  server.listen(0, '127.0.0.1', () => port.postMessage({ port: /** @type {import('node:net').AddressInfo} */ (server.address()).port }));
  port.on('message', (m) => {
    if (m === 'count') port.postMessage({ served });
    if (m === 'close') server.close(() => process.exit(0));
  });
}

/**
 * Starts the server.
 * @param {Record<string, unknown>} jwks per algorithm, the JWKS served at /<alg>/jwks.json
 * @returns {Promise<{ base: string, served(): Promise<number>, close(): Promise<number> }>}
 */
export async function startJwksServer(jwks) {
  const worker = new Worker(new URL(import.meta.url), { workerData: { jwks } });
  const { port } = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    base: `http://127.0.0.1:${port}`,
    served: () =>
      new Promise((resolve) => {
        worker.once('message', (m) => resolve(m.served));
        worker.postMessage('count');
      }),
    close: () => worker.terminate(),
  };
}
