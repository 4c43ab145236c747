/** What `report` returns: the SLI summary lines, the API latency rows and the fleet's health. */
import type { ApiLatencyRow, LatencyPoint, Verdict } from "./api-latency.ts";
import type { LeaseFreshness, NotReadyTransitions, RenewalGaps } from "./fleet-health.ts";
import type { PodStartup } from "./pod-startup.ts";

/** One line of the summary: an SLI, its value and its verdict. */
export interface SliLine {
  readonly sli: string;
  readonly value: string;
  readonly limit: string;
  readonly verdict: Verdict;
  readonly detail: string;
}

/** What `report` found. */
export interface ReportResult {
  readonly server: string;
  readonly window: {
    readonly from: string;
    readonly to: string;
    readonly seconds: number;
    readonly by: "since" | "mark";
    /** How the API latency counts relate to the window. */
    readonly apiCounts: string;
  };
  /** The histogram read. */
  readonly metric: string;
  readonly summary: readonly SliLine[];
  readonly api: readonly ApiLatencyRow[];
  readonly podStartup: PodStartup;
  readonly fleet: {
    readonly nodes: number;
    readonly selector: string;
    readonly leaseFreshness: LeaseFreshness;
    readonly renewalGaps: RenewalGaps;
    readonly notReady: NotReadyTransitions;
  };
  /** Latency per call class per sample interval while observing (bucket bounds). */
  readonly overTime: readonly LatencyPoint[];
  /** FAIL when any SLI failed, else PASS (NO DATA and UNKNOWN lines are shown, not judged). */
  readonly verdict: "PASS" | "FAIL";
  readonly notes: readonly string[];
  /** A mark recorded by this call. */
  readonly markRecorded?: string;
}

/** `report --mark` on a cluster without a mark: only the mark was recorded. */
export interface MarkOnly {
  readonly markRecorded: string;
  readonly server: string;
}
