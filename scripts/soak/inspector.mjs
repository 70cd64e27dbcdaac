// @ts-check
// The worker isolate's JS heap, read through wrangler dev's V8 inspector proxy (Chrome DevTools
// Protocol over WebSocket): attach, Runtime.getHeapUsage, HeapProfiler.collectGarbage.
import WebSocket from 'ws';

/** @import { IsolateInspector } from './types.d.ts' */
/** @typedef {{ id?: string, type?: string, title?: string, description?: string, webSocketDebuggerUrl?: string }} InspectorTarget */

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The targets listed at `listUrl`, polled until one has a webSocketDebuggerUrl or `giveUpAt`.
 * @param {string} listUrl
 * @param {number} giveUpAt  Date.now() deadline
 * @returns {Promise<InspectorTarget[]>}
 */
async function listTargets(listUrl, giveUpAt) {
  for (;;) {
    try {
      const res = await fetch(listUrl, { signal: AbortSignal.timeout(2_000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const targets = await res.json();
      if (Array.isArray(targets) && targets.some((t) => typeof t?.webSocketDebuggerUrl === 'string')) return targets;
      throw new Error(`no target with a webSocketDebuggerUrl: ${JSON.stringify(targets).slice(0, 200)}`);
    } catch (error) {
      const e = /** @type {Error & { cause?: { code?: string, message?: string } }} */ (error);
      const cause = e?.cause?.code ?? e?.cause?.message;
      if (Date.now() >= giveUpAt)
        throw new Error(`${listUrl}: ${e?.message ?? e}${cause === undefined ? '' : ` (${cause})`}`, { cause: error });
      await sleep(250);
    }
  }
}

/**
 * Opens the target's WebSocket; rejects if it is not open by `giveUpAt` (at least 1 s from now).
 * @param {string} url
 * @param {number} giveUpAt
 * @param {number} timeoutMs  for the message
 * @returns {Promise<WebSocket>}
 */
async function openSocket(url, giveUpAt, timeoutMs) {
  const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
  await new Promise((open, fail) => {
    const timer = setTimeout(
      () => {
        socket.terminate();
        fail(new Error(`${url}: no WebSocket after ${timeoutMs / 1000} s`));
      },
      Math.max(1_000, giveUpAt - Date.now()),
    );
    socket.once('open', () => {
      clearTimeout(timer);
      open(undefined);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      fail(new Error(`${url}: ${error.message}`));
    });
  });
  return socket;
}

/**
 * Attaches to the worker's isolate through wrangler dev's V8 inspector proxy: lists the targets
 * at http://127.0.0.1:<port>/json and connects to the worker's. Rejects with the reason if it
 * cannot. `send` rejects after `timeoutMs` without an answer, and at once once the connection is
 * closed (`closed()` then says why).
 * @param {number} port
 * @param {{ timeoutMs?: number }} [options]
 * @returns {Promise<IsolateInspector>}
 */
export async function attachToIsolate(port, { timeoutMs = 10_000 } = {}) {
  const giveUpAt = Date.now() + timeoutMs;
  const targets = await listTargets(`http://127.0.0.1:${port}/json`, giveUpAt);
  // wrangler lists one target, "Cloudflare Worker": the primary worker's isolate (its Durable
  // Objects run in the same isolate).
  const withUrl = targets.filter((t) => typeof t?.webSocketDebuggerUrl === 'string');
  const target = withUrl.find((t) => /worker/i.test(`${t.title} ${t.description}`)) ?? withUrl[0];
  const socket = await openSocket(/** @type {string} */ (target.webSocketDebuggerUrl), giveUpAt, timeoutMs);
  return inspectorOver(socket, `${target.title ?? target.id} (${target.description ?? target.type ?? '?'})`);
}

/**
 * CDP commands over an open socket: answers matched to commands by id.
 * @param {WebSocket} socket
 * @param {string} target
 * @returns {IsolateInspector}
 */
function inspectorOver(socket, target) {
  let nextId = 1;
  /** @type {string | undefined} */
  let closedBecause;
  /** @type {Map<number, { method: string, done: (result: Record<string, unknown>) => void, fail: (error: Error) => void }>} */
  const pending = new Map();
  const closeAll = (/** @type {string} */ reason) => {
    closedBecause ??= reason;
    for (const [, p] of pending) p.fail(new Error(closedBecause));
    pending.clear();
  };
  socket.on('message', (data) => {
    // Most messages are events (Runtime.consoleAPICalled for every log line): only answers matter.
    const text = data.toString();
    if (!text.startsWith('{"id":')) return;
    /** @type {{ id: number, result?: Record<string, unknown>, error?: { message?: string } }} */
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    const p = pending.get(message.id);
    if (p === undefined) return;
    pending.delete(message.id);
    if (message.error !== undefined) p.fail(new Error(`${p.method}: ${message.error.message ?? JSON.stringify(message.error)}`));
    else p.done(message.result ?? {});
  });
  socket.on('error', (error) => closeAll(`inspector connection error: ${error.message}`));
  socket.on('close', (code) => closeAll(`inspector connection closed (${code})`));
  return {
    target,
    send(method, params = {}, waitMs = 10_000) {
      if (closedBecause !== undefined) return Promise.reject(new Error(closedBecause));
      return new Promise((done, fail) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          pending.delete(id);
          fail(new Error(`${method}: no answer after ${waitMs / 1000} s`));
        }, waitMs);
        pending.set(id, {
          method,
          done: (r) => {
            clearTimeout(timer);
            done(r);
          },
          fail: (e) => {
            clearTimeout(timer);
            fail(e);
          },
        });
        socket.send(JSON.stringify({ id, method, params }));
      });
    },
    closed: () => closedBecause,
    close() {
      closeAll('inspector connection closed by the soak');
      socket.close();
    },
  };
}

/**
 * `Runtime.getHeapUsage` of the attached isolate, in bytes.
 * @param {IsolateInspector} inspector
 * @returns {Promise<{ usedSize: number, totalSize: number }>}
 */
export async function isolateHeapUsage(inspector) {
  const { usedSize, totalSize } = await inspector.send('Runtime.getHeapUsage');
  if (typeof usedSize !== 'number' || typeof totalSize !== 'number') throw new Error('Runtime.getHeapUsage: no usedSize/totalSize');
  return { usedSize, totalSize };
}

/**
 * A full GC in the isolate (`HeapProfiler.collectGarbage`), then its heap usage. V8 runs the GC
 * as a task on the isolate's thread, and workerd runs such tasks only when the isolate next
 * runs: `poke` (a request to the worker) is called every 100 ms until the GC is done. Console
 * messages kept by the inspector (their arguments live in the heap) are discarded first.
 * @param {IsolateInspector} inspector
 * @param {() => Promise<void>} poke
 * @param {number} [waitMs]
 */
export async function isolateHeapAfterGc(inspector, poke, waitMs = 15_000) {
  await inspector.send('Runtime.discardConsoleEntries').catch(() => {});
  const gc = inspector.send('HeapProfiler.collectGarbage', {}, waitMs);
  let done = false;
  const poking = (async () => {
    while (!done) {
      await poke().catch(() => {});
      await sleep(100);
    }
  })();
  try {
    await gc;
  } finally {
    done = true;
    await poking;
  }
  return isolateHeapUsage(inspector);
}
