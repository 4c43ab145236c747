/**
 * When each pod, claim and VolumeAttachment of a run was first seen created and first seen in the
 * state the run waits for (Running, Bound, attached), in ms from the run's start, as a watch
 * reports them; and what those times say. Pure: the watch feeds it objects and the time.
 */
import { quantile } from "../../src/kernel/quantile.ts";

/** First sight and first sight done of one object (ms from the run's start). */
export interface Times {
  created: number;
  done?: number;
}

/** The parts of a pod, claim or VolumeAttachment the timeline reads. */
export interface Watched {
  metadata: { name: string };
  spec?: { attacher?: string };
  status?: { phase?: string; attached?: boolean };
}

/** The three kinds a run watches. */
export type Kind = "pods" | "claims" | "attachments";

/** What counts as done for each kind. */
const DONE: Record<Kind, (o: Watched) => boolean> = {
  pods: (o) => o.status?.phase === "Running",
  claims: (o) => o.status?.phase === "Bound",
  attachments: (o) => o.status?.attached === true,
};

/** The run's objects by kind and name. */
export class Timeline {
  readonly pods = new Map<string, Times>();
  readonly claims = new Map<string, Times>();
  readonly attachments = new Map<string, Times>();

  /** Records an object seen at `at` (ms from the start): its first sight, and its first sight done. */
  see(kind: Kind, o: Watched, at: number): void {
    const map = this[kind];
    let t = map.get(o.metadata.name);
    if (!t) {
      t = { created: at };
      map.set(o.metadata.name, t);
    }
    if (t.done === undefined && DONE[kind](o)) t.done = at;
  }

  /** How many of a kind were seen, and how many done. */
  counts(kind: Kind): { seen: number; done: number } {
    let done = 0;
    for (const t of this[kind].values()) if (t.done !== undefined) done++;
    return { seen: this[kind].size, done };
  }
}

/** One kind's figures: how many, and the seconds from the run's start until the last was done. */
export interface Progress {
  /** Objects seen. */
  seen: number;
  /** Objects done (Running, Bound, attached). */
  done: number;
  /** Seconds from the start until the `expected`-th was done; null when not all were. */
  allDoneSeconds: number | null;
  /** Seconds until the last one done so far (how far it got). */
  lastDoneSeconds: number | null;
}

/** Seconds quantiles of per-object durations (nearest rank), null without samples. */
export interface Spread {
  samples: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

/** {@link Progress} of one kind against how many the run expects. */
export function progress(times: ReadonlyMap<string, Times>, expected: number): Progress {
  const done = [...times.values()].flatMap((t) => (t.done === undefined ? [] : [t.done]));
  const last = done.length ? Math.max(...done) : null;
  return {
    seen: times.size,
    done: done.length,
    allDoneSeconds: done.length >= expected && last !== null ? last / 1000 : null,
    lastDoneSeconds: last === null ? null : last / 1000,
  };
}

/** The {@link Spread} of created -> done over the objects done. */
export function spread(times: ReadonlyMap<string, Times>): Spread {
  const s = [...times.values()].flatMap((t) => (t.done === undefined ? [] : [(t.done - t.created) / 1000]));
  const q = (x: number): number | null => quantile(s, x) ?? null;
  return { samples: s.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: q(1) };
}
