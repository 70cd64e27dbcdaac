// @ts-check
// Small HTTP helpers the scenarios share (the load itself goes through bench/lib/load.mjs).

/** @param {string} token */
export const bearer = (token) => ({ authorization: `Bearer ${token}` });

/**
 * A JSON answer, tried up to three times: right after a load run the Worker may still be
 * closing the connections autocannon dropped, and the first request can meet one of those.
 * @param {string} url
 * @param {RequestInit} [init]
 * @returns {Promise<any>} parsed JSON, shaped by the caller
 */
export async function getJson(url, init) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await (await fetch(url, init)).json();
    } catch (error) {
      if (attempt >= 3) throw error;
      await new Promise((done) => setTimeout(done, 500));
    }
  }
}
