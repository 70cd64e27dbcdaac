/**
 * Reads a body as UTF-8 text, never holding more than `maxBytes` of it: a declared
 * Content-Length over the cap is refused before reading, and a stream that goes past it
 * (whatever it declared) is cancelled, or with `excess: 'leave'` left for the caller to
 * drain (a request body: cancelling one stalls the client's keep-alive connection).
 */
export async function readCappedText(
  body: ReadableStream<Uint8Array> | null,
  contentLength: string | null | undefined,
  maxBytes: number,
  excess: 'cancel' | 'leave' = 'cancel',
): Promise<{ text: string } | { error: 'too_large' | 'not_utf8' }> {
  if (Number(contentLength) > maxBytes) {
    if (excess === 'cancel') await body?.cancel();
    return { error: 'too_large' };
  }
  if (body === null) return { text: '' };
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    size += read.value.byteLength;
    if (size > maxBytes) {
      if (excess === 'cancel') await reader.cancel();
      else reader.releaseLock();
      return { error: 'too_large' };
    }
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
