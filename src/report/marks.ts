/**
 * Marks: the API server's latency counters at a moment, kept per cluster in the state directory,
 * so a later `report` covers exactly the time since. Written to a temporary file and renamed, so
 * an interrupted `report --mark` leaves the previous mark or the new one, never half of one.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Sample } from "./prometheus-text.ts";

/** A recorded mark. */
export interface Mark {
  readonly version: 1;
  /** The API server it was taken of. */
  readonly server: string;
  /** ms since the epoch. */
  readonly at: number;
  /** The latency histograms' and process samples at that time. */
  readonly samples: readonly Sample[];
}

/** Where the marks of a cluster live: `<stateDir>/report-marks/<hash of its identity>.json`. */
export function markPath(stateDir: string, clusterKey: string): string {
  const h = createHash("sha256").update(clusterKey).digest("hex").slice(0, 16);
  return join(stateDir, "report-marks", `${h}.json`);
}

/** Only what a window needs: the latency histograms and the process start time. */
export function markSamples(samples: readonly Sample[], metrics: readonly string[]): Sample[] {
  return samples.filter(
    (s) => s.name === "process_start_time_seconds" || metrics.some((m) => s.name.startsWith(`${m}_`)),
  );
}

/** Reads the mark at `path`, or undefined when there is none; a damaged file is an error naming it. */
export async function readMark(path: string): Promise<Mark | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const m = JSON.parse(text) as Partial<Mark>;
  if (m.version !== 1 || typeof m.at !== "number" || !Array.isArray(m.samples)) {
    throw new Error(`${path} is not a report mark`);
  }
  return m as Mark;
}

/** Writes a mark atomically. */
export async function writeMark(path: string, mark: Mark): Promise<void> {
  await mkdir(join(path, ".."), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify(mark), { mode: 0o600 });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
