/*
 * The fleet's usage model (#19): what a container uses when its pod says nothing, the noise on
 * it, and what the node itself uses besides its pods. One object per node (a fleet profile's
 * shape may give its own), parsed once at the edge from `key=value,...` text.
 */
import { BadInputError } from "../../kernel/errors.ts";
import { quantityNumber } from "../quantity.ts";
import { parseUsageSpec, type UsageSpec } from "./usage-spec.ts";

/** A node's usage model. Every field has the documented default of {@link DEFAULT_USAGE}. */
export interface UsageDefaults {
  /** A container's CPU when its pod has no annotation (default `10%` of its CPU request). */
  readonly cpu: UsageSpec;
  /** A container's memory working set when its pod has no annotation (default `50%` of its memory request). */
  readonly memory: UsageSpec;
  /**
   * The least a running container uses: CPU in millicores (default 1m) and memory in bytes
   * (default 4 MiB). Also what a share of an unset request resolves to. metrics-server drops a
   * pod whose container reports zero CPU time or memory, and a real process never uses nothing.
   */
  readonly cpuFloorMilli: number;
  readonly memoryFloorBytes: number;
  /**
   * Noise on the default model, as a fraction of its value (default 0.1: within ±10 %), held for
   * `noiseStepMs` (default 15 s, metrics-server's resolution) and seeded by pod uid and
   * container name: two scrapes at one time agree, and a run is reproducible. Values a pod's
   * annotation gives have none (an HPA test gets exactly what it asked for).
   */
  readonly noise: number;
  readonly noiseStepMs: number;
  /**
   * What the node uses besides its pods (kubelet, container runtime, system daemons): default
   * 100m CPU and 500 MiB, with the same noise. Node usage = this + the sum of its pods.
   */
  readonly systemCpuMilli: number;
  readonly systemMemoryBytes: number;
  /** Network traffic of each pod's interface, bytes per second received and sent (default 1 KiB/s, 512 B/s). */
  readonly podRxBytesPerSecond: number;
  readonly podTxBytesPerSecond: number;
}

/** The defaults listed on {@link UsageDefaults}. */
export const DEFAULT_USAGE: UsageDefaults = {
  cpu: { kind: "const", value: { ofRequest: 0.1 } },
  memory: { kind: "const", value: { ofRequest: 0.5 } },
  cpuFloorMilli: 1,
  memoryFloorBytes: 4 * 2 ** 20,
  noise: 0.1,
  noiseStepMs: 15_000,
  systemCpuMilli: 100,
  systemMemoryBytes: 500 * 2 ** 20,
  podRxBytesPerSecond: 1024,
  podTxBytesPerSecond: 512,
};

const KEYS =
  "cpu, memory, noise, noise-step, floor-cpu, floor-memory, system-cpu, system-memory, pod-rx, pod-tx";

/**
 * Parses `key=value,...` over {@link DEFAULT_USAGE} (e.g. a `--usage` flag, or a profile shape's
 * `usage`): `cpu=10%`, `memory=50%` (a usage as a pod annotation takes it, patterns included),
 * `noise=10%`, `noise-step=15s`, `floor-cpu=1m`, `floor-memory=4Mi`, `system-cpu=100m`,
 * `system-memory=500Mi`, `pod-rx=1Ki`, `pod-tx=512` (bytes per second). Throws a
 * {@link BadInputError} naming the bad part.
 */
export function parseUsageDefaults(
  text: string,
  flag: string,
  base: UsageDefaults = DEFAULT_USAGE,
): UsageDefaults {
  const out: { -readonly [K in keyof UsageDefaults]: UsageDefaults[K] } = { ...base };
  for (const part of text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf("=");
    const key = eq < 0 ? part : part.slice(0, eq).trim();
    const value = eq < 0 ? "" : part.slice(eq + 1).trim();
    const quantity = (unitScale: number, what: string): number => {
      const n = quantityNumber(value);
      if (n === undefined || n < 0) throw new BadInputError(`${flag} ${key} must be ${what}, got "${value}"`);
      return n * unitScale;
    };
    switch (key) {
      case "cpu":
      case "memory": {
        const r = parseUsageSpec(value, key, `${flag} ${key}`);
        if ("error" in r) throw new BadInputError(r.error);
        out[key] = r.spec;
        break;
      }
      case "noise": {
        const m = /^(\d+(?:\.\d+)?)%$/.exec(value);
        const f = m ? Number(m[1]) / 100 : NaN;
        if (!(f >= 0 && f < 1))
          throw new BadInputError(`${flag} noise must be a percentage below 100% like 10%, got "${value}"`);
        out.noise = f;
        break;
      }
      case "noise-step": {
        const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(value);
        const ms = m ? Number(m[1]) * (m[2] === "ms" ? 1 : m[2] === "s" ? 1000 : 60_000) : NaN;
        if (!(ms >= 1000))
          throw new BadInputError(
            `${flag} noise-step must be a duration of at least 1s like 15s, got "${value}"`,
          );
        out.noiseStepMs = ms;
        break;
      }
      case "floor-cpu":
        out.cpuFloorMilli = quantity(1000, "a CPU quantity like 1m");
        break;
      case "floor-memory":
        out.memoryFloorBytes = Math.round(quantity(1, "a memory quantity like 4Mi"));
        break;
      case "system-cpu":
        out.systemCpuMilli = quantity(1000, "a CPU quantity like 100m");
        break;
      case "system-memory":
        out.systemMemoryBytes = Math.round(quantity(1, "a memory quantity like 500Mi"));
        break;
      case "pod-rx":
        out.podRxBytesPerSecond = quantity(1, "bytes per second like 1Ki");
        break;
      case "pod-tx":
        out.podTxBytesPerSecond = quantity(1, "bytes per second like 512");
        break;
      default:
        throw new BadInputError(`${flag} takes key=value pairs with keys ${KEYS}; got "${part}"`);
    }
  }
  return out;
}
