/**
 * `report`: the SIG-scalability SLIs of a cluster over a window, from the API server's own
 * metrics and the cluster's objects. The operation reads through a {@link ReportSource} (the real
 * one talks to the API server, tests give fake metrics text and objects) and returns a result the
 * CLI renders as a table, JSON or an HTML page.
 */
import type { Clock } from "../kernel/clock.ts";
import { BadInputError, KubemarkError } from "../kernel/errors.ts";
import {
  apiLatencyRows,
  latencyMetric,
  latencyOverTime,
  sameProcess,
  windowBuckets,
  FALLBACK_METRIC,
  SLI_METRIC,
} from "./api-latency.ts";
import {
  leaseFreshness,
  notReadyTransitions,
  renewalGaps,
  type LeaseTimes,
  type NodeEvent,
  type NodeReadiness,
  type RenewalGapInput,
} from "./fleet-health.ts";
import { markPath, markSamples, readMark, writeMark, type Mark } from "./marks.ts";
import { podStartup, type PodTimes } from "./pod-startup.ts";
import { parsePrometheusText, scalar, type Sample } from "./prometheus-text.ts";
import type { MarkOnly, ReportResult } from "./result.ts";
import { summarize } from "./summary.ts";

export type { MarkOnly, ReportResult, SliLine } from "./result.ts";

/** What the report reads from the cluster under test. */
export interface ReportSource {
  /** The API server's URL (for messages). */
  readonly server: string;
  /** A stable identity of the cluster (marks are kept per cluster). */
  clusterKey(): Promise<string>;
  /** The API server's `/metrics` text. */
  metrics(): Promise<string>;
  /** Nodes matching a label selector. */
  nodes(selector: string): Promise<NodeReadiness[]>;
  /** Leases in kube-node-lease, with the list's resourceVersion. */
  leases(): Promise<{ items: LeaseTimes[]; resourceVersion: string }>;
  /** Every pod. */
  pods(): Promise<PodTimes[]>;
  /** Events of reason NodeNotReady about Nodes. */
  nodeNotReadyEvents(): Promise<NodeEvent[]>;
  /** Starts watching kube-node-lease from `resourceVersion`; `stop` ends it and returns the Leases seen. */
  watchLeases(resourceVersion: string): { stop(): LeaseTimes[] };
}

/** What `report` needs besides the source. */
export interface ReportDeps {
  readonly source: ReportSource;
  readonly clock: Clock;
  readonly stateDir: string;
  readonly signal?: AbortSignal | undefined;
  /** Progress for people (stderr). */
  readonly progress?: (line: string) => void;
}

/** The window: the last `sinceSeconds`, or since the cluster's mark. */
export type ReportWindow = { readonly since: number } | { readonly sinceMark: true };

/** Options of {@link report}. */
export interface ReportOptions {
  readonly window: ReportWindow;
  /** Record a new mark after reporting (or, without one before, just record it). */
  readonly mark: boolean;
  /** Watch Leases (and sample /metrics) this long for renewal gaps and latency over time; 0 skips. Default 20 s. */
  readonly observeSeconds: number;
  /** Interval of /metrics samples while observing. Default 5 s. */
  readonly sampleSeconds: number;
  /** The fleet (its namespace) whose nodes are judged; all hollow nodes when it has none. */
  readonly fleet: string;
}

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** Parses `--since` (`10m`, `90s`, `1h30m`, plain seconds) into seconds. */
export function parseDuration(value: string, flag: string): number {
  const v = value.trim();
  let total = NaN;
  if (/^\d+(\.\d+)?$/.test(v)) total = Number(v);
  else if (/^(\d+(\.\d+)?(ms|h|m|s))+$/.test(v)) {
    total = 0;
    for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) total += Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  }
  if (!Number.isFinite(total) || total <= 0) {
    throw new BadInputError(
      `${flag} must be a positive duration such as 10m, 90s or 1h30m, got "${value}"`,
      `for example 'kubemark-cluster report ${flag} 10m'`,
    );
  }
  return total;
}

/** Gaps between renewals: each Lease's renewTime at the list, then at each watch event. */
export function gapsFrom(
  initial: readonly LeaseTimes[],
  seen: readonly LeaseTimes[],
  nodes: ReadonlySet<string>,
): RenewalGapInput[] {
  const last = new Map<string, number>();
  for (const l of initial) {
    const t = Date.parse(l.spec?.renewTime ?? "");
    if (Number.isFinite(t)) last.set(l.metadata.name, t);
  }
  const out: RenewalGapInput[] = [];
  for (const l of seen) {
    const name = l.metadata.name;
    const t = Date.parse(l.spec?.renewTime ?? "");
    if (!nodes.has(name) || !Number.isFinite(t)) continue;
    const prev = last.get(name);
    if (prev !== undefined && t > prev) out.push({ node: name, previousMs: prev, renewedMs: t });
    if (prev === undefined || t > prev) last.set(name, t);
  }
  return out;
}

async function scrape(source: ReportSource): Promise<Sample[]> {
  const text = await source.metrics();
  try {
    return parsePrometheusText(text);
  } catch (err) {
    throw new KubemarkError(
      "API_ERROR",
      `the /metrics answer of ${source.server} is not Prometheus text: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * Reports the SLIs over the window. With `mark`, records a new mark afterwards (atomically); with
 * `mark` and no mark before, only records one and returns {@link MarkOnly}.
 */
export async function report(deps: ReportDeps, opts: ReportOptions): Promise<ReportResult | MarkOnly> {
  const { source, clock } = deps;
  const key = await source.clusterKey();
  const path = markPath(deps.stateDir, key);
  let previous: Mark | undefined;
  try {
    previous = "sinceMark" in opts.window || opts.mark ? await readMark(path) : undefined;
  } catch (err) {
    throw new KubemarkError("STATE_DIR", `cannot read the report mark ${path}: ${(err as Error).message}`, {
      hint: "record a new one with 'kubemark-cluster report --mark'",
      cause: err,
    });
  }
  if ("sinceMark" in opts.window && !previous && !opts.mark) {
    throw new BadInputError(
      `no report mark for the cluster at ${source.server}`,
      "record one before the run with 'kubemark-cluster report --mark', or give a window: 'kubemark-cluster report --since 10m'",
    );
  }
  const first = await scrape(source);
  const metric = latencyMetric(first);
  if (!metric) {
    throw new KubemarkError(
      "API_ERROR",
      `the /metrics of ${source.server} has neither ${SLI_METRIC} nor ${FALLBACK_METRIC}: is it a kube-apiserver?`,
    );
  }
  const startedAt = clock.now();
  const newMark = (): Mark => ({
    version: 1,
    server: source.server,
    at: clock.now(),
    samples: markSamples(first, [metric]),
  });
  if (opts.mark && !previous) {
    const m = newMark();
    await writeMark(path, m);
    return { markRecorded: new Date(m.at).toISOString(), server: source.server };
  }

  // Observe: Lease renewals by watch, and /metrics samples for latency over time.
  const leaseList = await source.leases();
  const scrapes: Array<{ at: number; samples: readonly Sample[] }> = [{ at: startedAt, samples: first }];
  let seenLeases: LeaseTimes[] = [];
  let last = first;
  if (opts.observeSeconds > 0) {
    deps.progress?.(`watching Leases and sampling /metrics for ${opts.observeSeconds} s (--observe)`);
    const watch = source.watchLeases(leaseList.resourceVersion);
    try {
      const end = startedAt + opts.observeSeconds * 1000;
      while (clock.now() < end) {
        await clock.sleep(Math.min(opts.sampleSeconds * 1000, end - clock.now()), deps.signal);
        last = await scrape(source);
        scrapes.push({ at: clock.now(), samples: last });
      }
    } finally {
      seenLeases = watch.stop();
    }
  }
  const now = clock.now();

  // The window and the API counts over it.
  const notes: string[] = [];
  let fromMs: number;
  let before: readonly Sample[] | undefined;
  let apiCounts: string;
  const serverStart = scalar(last, "process_start_time_seconds");
  const startText =
    serverStart === undefined ? "its start" : `its start at ${new Date(serverStart * 1000).toISOString()}`;
  if ("since" in opts.window) {
    fromMs = now - opts.window.since * 1000;
    if (serverStart !== undefined && serverStart * 1000 >= fromMs) {
      apiCounts = `exact: the API server started in the window (${new Date(serverStart * 1000).toISOString()})`;
    } else {
      apiCounts = `since the API server's ${startText.slice(4)}: its counters are cumulative, so API latency covers more than --since`;
      notes.push(
        "API latency counts every request since the API server started; for an exact window run 'kubemark-cluster report --mark' before the load and 'kubemark-cluster report' after it",
      );
    }
  } else {
    const m = previous!;
    fromMs = m.at;
    if (sameProcess(m.samples, last)) {
      before = m.samples;
      apiCounts = `exact: counters since the mark of ${new Date(m.at).toISOString()}`;
    } else {
      apiCounts = `since the API server's ${startText.slice(4)}: it restarted after the mark`;
      notes.push("the API server restarted after the mark: its latency counts start at its restart");
    }
  }
  const api = apiLatencyRows(windowBuckets(metric, last, before));
  if (metric === FALLBACK_METRIC) {
    notes.push(`${SLI_METRIC} is absent: ${FALLBACK_METRIC} includes webhook and queue time`);
  }
  notes.push(
    "API latency percentiles are histogram bucket bounds: 'p99 <= 1 s' means the p99 lies in the bucket ending at 1 s",
  );

  // Objects: the fleet's nodes, their Leases, pods, NotReady events.
  let selector = `hollow-node=true,kubemark-cluster.io/fleet=${opts.fleet}`;
  let nodes = await source.nodes(selector);
  if (nodes.length === 0) {
    selector = "hollow-node=true";
    nodes = await source.nodes(selector);
    if (nodes.length)
      notes.push(`no Nodes of fleet ${opts.fleet}: judging every hollow node (hollow-node=true)`);
  }
  const names = nodes.map((n) => n.metadata.name);
  const nameSet = new Set(names);
  const [pods, events] = await Promise.all([source.pods(), source.nodeNotReadyEvents()]);
  const leaseNow = new Map(leaseList.items.map((l) => [l.metadata.name, l]));
  for (const l of seenLeases) leaseNow.set(l.metadata.name, l);
  const leaseDuration = leaseList.items.find((l) => nameSet.has(l.metadata.name))?.spec?.leaseDurationSeconds;
  const fleet = {
    nodes: nodes.length,
    selector,
    leaseFreshness: leaseFreshness(names, [...leaseNow.values()], now),
    renewalGaps: renewalGaps(
      gapsFrom(leaseList.items, seenLeases, nameSet),
      opts.observeSeconds,
      leaseDuration,
    ),
    notReady: notReadyTransitions(nodes, events, fromMs, now),
  };
  const startup = podStartup(pods, nameSet, fromMs, now);
  const summary = summarize(api, startup, fleet);
  const result: ReportResult = {
    server: source.server,
    window: {
      from: new Date(fromMs).toISOString(),
      to: new Date(now).toISOString(),
      seconds: Math.round((now - fromMs) / 1000),
      by: "since" in opts.window ? "since" : "mark",
      apiCounts,
    },
    metric,
    summary,
    api,
    podStartup: startup,
    fleet,
    overTime: latencyOverTime(scrapes),
    verdict: summary.some((l) => l.verdict === "FAIL") ? "FAIL" : "PASS",
    notes,
  };
  if (opts.mark) {
    const m: Mark = { version: 1, server: source.server, at: now, samples: markSamples(last, [metric]) };
    await writeMark(path, m);
    return { ...result, markRecorded: new Date(m.at).toISOString() };
  }
  return result;
}
