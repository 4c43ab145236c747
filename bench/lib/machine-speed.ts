/**
 * How fast this machine runs one fixed piece of work now. On this class of machine (shared
 * virtual cores) the same start-up of the same code has taken 1.5-2x longer from one day to the
 * next, in CPU-seconds as well as in seconds (results/startup-22.md): the figures of two runs days
 * apart compare only beside a figure of how fast the machine was. The work is of the kind the API
 * server and the engine do per request (build an object, encode it, decode it), on one thread; the
 * fastest of a few repetitions is kept, as the one least disturbed by anything else running.
 */
import { performance } from "node:perf_hooks";

/** The fixed work's size: about 0.15 s a repetition on this machine (2 shared cores). */
export const CALIBRATION_ROUNDS = 20_000;

/** What one measurement found: the fastest and the median repetition, and the work's checksum. */
export interface MachineSpeed {
  readonly bestMs: number;
  readonly medianMs: number;
  readonly repetitions: number;
  /** The same for every run of the same work: proof that the figures time the same thing. */
  readonly checksum: number;
}

/** A Node-status-like object, different in each round. */
function nodeLike(i: number): object {
  const conditions = ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"].map((type, k) => ({
    type,
    status: k === 3 ? "True" : "False",
    lastHeartbeatTime: `2026-12-02T03:${String(i % 60).padStart(2, "0")}:00Z`,
    reason: `Kubelet${type}`,
    message: `kubelet reports ${type} for node ${i}`,
  }));
  return {
    metadata: { name: `node-${i}`, labels: { "kubernetes.io/hostname": `node-${i}`, zone: `z${i % 3}` } },
    status: {
      capacity: { cpu: "4", memory: `${16 + (i % 8)}Gi`, pods: "110" },
      addresses: [{ type: "InternalIP", address: `10.${(i >> 8) & 255}.${i & 255}.1` }],
      conditions,
    },
  };
}

/** Runs the fixed work `rounds` times; returns its checksum (the encoded bytes and decoded fields). */
export function calibrationWork(rounds: number): number {
  let sum = 0;
  for (let i = 0; i < rounds; i++) {
    const text = JSON.stringify(nodeLike(i));
    const back = JSON.parse(text) as { status: { conditions: unknown[] } };
    sum = (sum + text.length + back.status.conditions.length) % 1_000_000_007;
  }
  return sum;
}

/** Times the fixed work `repetitions` times (after one warm-up) and keeps the fastest and the median. */
export function measureMachineSpeed(repetitions = 5, rounds = CALIBRATION_ROUNDS): MachineSpeed {
  if (!Number.isInteger(repetitions) || repetitions < 1)
    throw new RangeError("repetitions must be a whole number ≥ 1");
  let checksum = calibrationWork(rounds);
  const times: number[] = [];
  for (let r = 0; r < repetitions; r++) {
    const t0 = performance.now();
    checksum = calibrationWork(rounds);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { bestMs: times[0]!, medianMs: times[Math.floor(times.length / 2)]!, repetitions, checksum };
}
