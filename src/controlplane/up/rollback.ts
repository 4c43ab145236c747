/** `up`'s rollback: a failed or aborted `up` leaves nothing running that it started. */
import { rm } from "node:fs/promises";
import { stopDaemon, type DaemonRecord } from "../../host/daemon.ts";
import {
  COMPONENTS,
  writeRecord,
  type ClusterLayout,
  type ClusterRecord,
  type Component,
} from "../cluster-state.ts";
import type { UpDeps } from "./workers.ts";

/** What a failed `up` undoes. */
export interface StartedByUp {
  /** Processes this `up` started. */
  readonly started: Partial<Record<Component, DaemonRecord>>;
  /** The cluster did not exist before: its directory goes too. */
  readonly fresh: boolean;
  /** The cluster's last record, whose processes this `up` started are forgotten. */
  readonly last: ClusterRecord | undefined;
  /** metrics-server, when this `up` started it. */
  readonly metricsServer?: DaemonRecord | undefined;
}

/**
 * Stops the cluster's workers, the metrics-server and every component this `up` started
 * (last-started first); removes
 * a new cluster's state, or forgets the stopped processes in an existing cluster's record.
 */
export async function rollback(deps: UpDeps, layout: ClusterLayout, undo: StartedByUp): Promise<void> {
  const { clock } = deps;
  const { started, fresh, last } = undo;
  await deps.workers?.stop(layout, clock).catch(() => undefined);
  if (undo.metricsServer) await stopDaemon(undo.metricsServer, clock).catch(() => undefined);
  for (const c of [...COMPONENTS].reverse()) {
    const d = started[c];
    if (d) await stopDaemon(d, clock).catch(() => undefined);
  }
  if (fresh) {
    await rm(layout.dir, { recursive: true, force: true }).catch(() => undefined);
  } else if (last) {
    const processes = { ...last.processes };
    for (const c of COMPONENTS) if (started[c]) delete processes[c];
    const next = { ...last, processes };
    // Still wanted: the next `up` starts it again.
    if (undo.metricsServer) next.metricsServer = {};
    await writeRecord(layout, next).catch(() => undefined);
  }
}
