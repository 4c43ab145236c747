/** The storage benchmark's results, as written to its JSON. */
import type { StorageMode } from "./args.ts";
import type { Progress, Spread } from "./timeline.ts";

/** CPU seconds used during the run's pod phase and the highest RSS seen (MB), of one process. */
export interface ProcessCost {
  cpuSeconds: number;
  peakRssMB: number;
}

/** One mode's run: what was created, how far it got and how long it took. */
export interface ModeResult {
  mode: StorageMode;
  /** The CSIDriver's attachRequired. */
  attachRequired: boolean;
  nodes: number;
  pods: number;
  statefulSets: number;
  /** Seconds from the engine's start until all nodes were registered and their CSINodes listed the driver. */
  registerSeconds: number;
  /** Whether all pods were Running before the deadline. */
  complete: boolean;
  /** What was missing at the deadline (empty when complete). */
  missing: string[];
  /** From the first StatefulSet created: claims Bound, VolumeAttachments attached, pods Running. */
  claims: Progress;
  attachments: Progress;
  podsRunning: Progress;
  /** Each pod's created -> Running (its first sight in the watch to its first sight Running). */
  podCreatedToRunning: Spread;
  /** Each claim's created -> Bound. */
  claimCreatedToBound: Spread;
  /** Each VolumeAttachment's created -> attached. */
  attachmentCreatedToAttached: Spread;
  /** Pods per node at the end (min and max over the fleet's nodes with any). */
  podsPerNode: { min: number; max: number } | null;
  /** The engine process over the pod phase; the control plane's, when it is a local cluster. */
  engine: ProcessCost;
  controlPlane: Record<string, ProcessCost> | null;
  /** API server requests during the pod phase by "VERB resource", most first. */
  requests: [string, number][];
  /** Seconds the clean-up took (claims, volumes, attachments, nodes gone). */
  cleanupSeconds: number;
}

/** The JSON the benchmark writes. */
export interface StorageResult {
  when: string;
  /** The command that reproduces it. */
  command: string;
  machine: string;
  runs: ModeResult[];
}
