import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';
import { testBindings } from './test/helpers/fixtures';

const COMPATIBILITY_DATE = '2026-04-20';

export default defineConfig({
  cacheDir: '.vite-cache',
  test: {
    // What workerd still prints in a passing run, and why it is not a test's fault: one
    // "WebSocket peer disconnected" per file (the pool closes its own runner socket as it
    // disposes the runtime; workers-sdk#13833 filters it, not in pool 0.15.1), and one trace per
    // fault a test injects on purpose: a JWKS server dropping the connection or a closed port
    // ("Network connection lost", logged by workerd even when the fetch's rejection is handled),
    // a Durable Object aborted mid-request (state.abort(), "outputGateBroken").
    //
    // Every unhandled rejection fails the run, those of a Durable Object or entrypoint RPC
    // (`remote`) included: a forgotten `await` on a failing call must not pass. The one known
    // false alarm, workers-sdk#14736 (an awaited RPC that throws reported unhandled), came from
    // `expect(rpcPromise).rejects`; test/setup/rpc-rejects.ts removes it at its source, so no
    // filter is needed.
    projects: [
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            main: './src/index.ts',
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: testBindings(inject('jwksPort')),
              serviceBindings: { CALLER: 'caller' },
              workers: [
                {
                  name: 'caller',
                  modules: true,
                  scriptPath: './test/fixtures/caller-worker.js',
                  compatibilityDate: COMPATIBILITY_DATE,
                  // The worker under test is named after this project by the pool.
                  serviceBindings: { AUTH: { name: 'vitest-pool-workers-runner-workers', entrypoint: 'Verifier' } },
                },
              ],
            },
          })),
        ],
        test: {
          name: 'workers',
          include: ['test/**/*.test.ts'],
          exclude: ['test/e2e/**'],
          globalSetup: ['./test/global-setup.ts'],
          setupFiles: ['./test/setup/rpc-rejects.ts'],
        },
      },
      {
        // The simulation (sim/README.md): product code in Node, `cloudflare:workers` from sim/shims.
        resolve: { alias: { 'cloudflare:workers': new URL('./sim/shims/cloudflare-workers.ts', import.meta.url).pathname } },
        test: {
          name: 'sim',
          environment: 'node',
          include: ['sim/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
