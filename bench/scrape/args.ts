/** bench/scrape.ts's flags: the usage text and the parsed, checked options. */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { UsageError, integerAtLeast, secondsAsMs, usageErrors } from "../lib/flag-values.ts";
import { resolveOutPath } from "../lib/out-path.ts";

/** What `--help` prints. */
export const SCRAPE_USAGE = `Usage: npm run bench:scrape -- [flags]   (node bench/scrape.ts on the project's Node.js 24)

The real metrics-server scraping one hollow-node process: the engine's CPU and RSS idle, then while
metrics-server (as 'up --metrics-server' runs it, --metric-resolution=15s) scrapes every node's
kubelet endpoint; metrics-server's own figures, the API server's CPU, the reviews the scrape causes,
and whether every node is in the metrics API each round. Starts its own local cluster
('up --load-test') in a temporary state directory and stops it at the end.

  --nodes N              hollow nodes (default 1000)
  --settle SECONDS       settling after every node is Ready (default 30)
  --window SECONDS       each of the two measurement windows, idle and scraped (default 120)
  --warmup SECONDS       longest wait for metrics-server to list every node (default 180)
  --metrics-port PORT    the engine's metrics port (default 19465)
  --idle-after           a third window after the scraped one, metrics-server paused (SIGSTOP),
                         the ratio set against the mean of both idle windows
  --engine-cpu-prof DIR  the engine writes a V8 CPU profile (.cpuprofile) to DIR when it stops
  --out NAME|PATH        results/NAME.json, or a path (with a '/'): absolute, or relative to the
                         current directory (default results/scrape-<nodes>.json)
`;

/** A scrape benchmark run, as the flags ask for it. */
export interface ScrapeOptions {
  /** Hollow nodes of the one engine process (default 1000). */
  nodes: number;
  /** Settling after every node is Ready, before the idle window (default 30 s). */
  settleMs: number;
  /** Length of each window, idle and scraped (default 120 s: 8 rounds at 15 s). */
  windowMs: number;
  /** Longest wait from metrics-server's start until the metrics API lists every node (default 180 s). */
  warmupMs: number;
  /** The engine's metrics port (default 19465, beside bench:engine's 19464). */
  metricsPort: number;
  /** Measure idle again after the scraped window, metrics-server paused. */
  idleAfter: boolean;
  /** Directory for the engine's CPU profile (absolute), or undefined. */
  engineCpuProf: string | undefined;
  /** Where the JSON goes (absolute); the Markdown goes beside it. */
  resultsFile: string;
}

/** Parses the flags; `help` when `--help` was given. Throws {@link UsageError} on a bad value. */
export function parseScrapeArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
  root: string,
): { help: true } | { help: false; options: ScrapeOptions } {
  const { values } = usageErrors(() =>
    parseArgs({
      args: [...argv],
      options: {
        nodes: { type: "string", default: "1000" },
        settle: { type: "string", default: "30" },
        window: { type: "string", default: "120" },
        warmup: { type: "string", default: "180" },
        "metrics-port": { type: "string", default: "19465" },
        out: { type: "string" },
        "idle-after": { type: "boolean", default: false },
        "engine-cpu-prof": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }),
  );
  if (values.help) return { help: true };
  const nodes = integerAtLeast("--nodes", values.nodes, 1);
  const windowMs = secondsAsMs("--window", values.window);
  if (windowMs < 15_000) {
    throw new UsageError(`--window takes at least 15 seconds (one scrape round), got "${values.window}"`);
  }
  const metricsPort = integerAtLeast("--metrics-port", values["metrics-port"], 1);
  if (metricsPort > 65535) {
    throw new UsageError(`--metrics-port takes a port (1-65535), got "${values["metrics-port"]}"`);
  }
  const out = values.out;
  if (out !== undefined && !out.includes("/") && !/^[\w.-]+$/.test(out)) {
    throw new UsageError(
      `--out takes a name (written to results/<name>.json) or a path with a '/', got "${out}"`,
    );
  }
  const name = out ?? `scrape-${nodes}`;
  const resultsFile = name.includes("/")
    ? resolveOutPath(name, "", root, env, cwd)
    : join(root, "results", name.endsWith(".json") ? name : `${name}.json`);
  return {
    help: false,
    options: {
      nodes,
      settleMs: secondsAsMs("--settle", values.settle),
      windowMs,
      warmupMs: secondsAsMs("--warmup", values.warmup),
      metricsPort,
      idleAfter: values["idle-after"],
      engineCpuProf:
        values["engine-cpu-prof"] === undefined ? undefined : resolve(cwd, values["engine-cpu-prof"]),
      resultsFile,
    },
  };
}
