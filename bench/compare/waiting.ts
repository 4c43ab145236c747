/** Pauses and polls of bench/compare.ts, and its progress lines on stderr. */

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Writes one progress line to stderr, stamped with the time of day (UTC). */
export const log = (s: string): void =>
  void process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

/**
 * Polls `check` every second until it says yes (a check that throws says no), or rejects after
 * `ms` with "timed out waiting for <what>".
 */
export async function waitFor(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(1000);
  }
}
