/** What is drained of an over-the-cap body (reading and dropping is cheap), and for how long. */
export const DRAIN_MAX_BYTES = 256 * 1024;
export const DRAIN_MAX_MS = 2_000;

/** Reads and drops the rest of a stream, within the bounds, then cancels what is left. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), DRAIN_MAX_MS);
  });
  let size = 0;
  try {
    for (;;) {
      const read = await Promise.race([reader.read(), late]);
      if (read === 'late' || read.done) return;
      size += read.value.byteLength;
      if (size > DRAIN_MAX_BYTES) return;
    }
  } catch {
    // a client that went away: nothing left to drain
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    reader.cancel().catch(() => undefined);
  }
}

/**
 * Reads a body as UTF-8 text, never holding more than `maxBytes` of it: a declared
 * Content-Length over the cap is refused before reading, and a stream that goes past it
 * (whatever it declared) is cancelled; with `excess: 'drain'` (a request body) the rest is
 * read and dropped first, up to DRAIN_MAX_BYTES and DRAIN_MAX_MS, because a cancelled request
 * body stalls the next request on the client's keep-alive connection (30 s and more).
 */
export async function readCappedText(
  body: ReadableStream<Uint8Array> | null,
  contentLength: string | null | undefined,
  maxBytes: number,
  excess: 'cancel' | 'drain' = 'cancel',
): Promise<{ text: string } | { error: 'too_large' | 'not_utf8' }> {
  const refuse = async (reader: ReadableStreamDefaultReader<Uint8Array> | undefined) => {
    if (excess === 'drain' && reader !== undefined) await drain(reader);
    else await reader?.cancel();
    return { error: 'too_large' } as const;
  };
  if (Number(contentLength) > maxBytes) return refuse(body?.getReader());
  if (body === null) return { text: '' };
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    size += read.value.byteLength;
    if (size > maxBytes) return refuse(reader);
    chunks.push(read.value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes) };
  } catch {
    return { error: 'not_utf8' };
  }
}
