/**
 * `up`'s start-and-probe step: each component in order is kept, (re)started or given time to
 * recover, and waited for until its health endpoint answers ok; then the controllers must have
 * acted (the default ServiceAccount exists).
 */
import { readFile } from "node:fs/promises";
import { KubemarkError, describeError } from "../../kernel/errors.ts";
import { waitUntil, type PollResult } from "../../kernel/wait.ts";
import { isDaemonAlive, startDaemon, stopDaemon, type DaemonRecord } from "../../host/daemon.ts";
import { lastLines } from "../../host/run-command.ts";
import type { ResolvedBinary } from "../binaries.ts";
import type { ControlPlaneDeps, RestartedComponent } from "../cluster-info.ts";
import {
  COMPONENTS,
  writeRecord,
  type ClusterLayout,
  type ClusterRecord,
  type Component,
} from "../cluster-state.ts";
import { componentArgs } from "../component-args.ts";
import type { BinaryName } from "../go-build.ts";
import { probe, type ProbeClients } from "../health.ts";
import type { ComponentAction } from "../restart-plan.ts";
import { checkRecordedPortsFree } from "./ports.ts";

/** One `up`'s start of components, and what it started (undone if `up` fails). */
export interface StartRun {
  readonly deps: ControlPlaneDeps;
  readonly layout: ClusterLayout;
  readonly bins: Record<BinaryName, ResolvedBinary>;
  readonly deadline: number;
  readonly probes: ProbeClients;
  /** Restarting an existing cluster: its recorded ports must be free again before each start. */
  readonly restart: boolean;
  rec: ClusterRecord;
  readonly started: Partial<Record<Component, DaemonRecord>>;
}

/** How long a component that runs but is unhealthy gets to recover once what it needs is back. */
const RECOVERY_GRACE_MS = 20_000;

/** The binary each component runs. */
const BINARY_OF: Record<Component, BinaryName> = {
  etcd: "etcd",
  "kube-apiserver": "kube-apiserver",
  "kube-controller-manager": "kube-controller-manager",
  "kube-scheduler": "kube-scheduler",
};

async function readLogTail(file: string, n = 15): Promise<string> {
  try {
    return lastLines(await readFile(file, "utf8"), n);
  } catch {
    return "(no log)";
  }
}

/** Waits until a component's health endpoint answers ok; gives up at once if its process exits. */
function waitHealthy(run: StartRun, c: Component, d: DaemonRecord, timeoutMs: number): Promise<PollResult> {
  const { deps } = run;
  const rec = run.rec;
  return waitUntil(
    async () => {
      const text = await probe(c, rec, run.probes);
      return {
        done: text === "ok",
        status:
          text
            .split("\n")
            .filter((l) => l.includes("[-]"))
            .join(", ") || text,
      };
    },
    {
      what: `${c} to become healthy`,
      timeoutMs,
      intervalMs: 250,
      clock: deps.clock,
      ...(deps.signal ? { signal: deps.signal } : {}),
      onPoll: (r) => deps.onEvent?.({ kind: "wait", component: c, status: r.status }),
      failFast: () => (isDaemonAlive(d) ? undefined : `${c} exited`),
    },
  );
}

/** Stops a component's recorded process, if any, and forgets it. */
async function stopComponent(run: StartRun, c: Component): Promise<void> {
  const d = run.rec.processes[c];
  if (!d) return;
  await stopDaemon(d, run.deps.clock);
  const processes = { ...run.rec.processes };
  delete processes[c];
  run.rec = { ...run.rec, processes };
  await writeRecord(run.layout, run.rec);
}

/** Starts one component and waits until it is healthy; the error carries its last log lines. */
async function startComponent(run: StartRun, c: Component): Promise<void> {
  const { deps, layout } = run;
  if (run.restart) await checkRecordedPortsFree(run.rec, c);
  deps.signal?.throwIfAborted();
  deps.onEvent?.({ kind: "step", message: `starting ${c}` });
  const d = await startDaemon({
    file: run.bins[BINARY_OF[c]].path,
    args: componentArgs(c, run.rec, layout),
    logFile: layout.log(c),
    env: deps.env,
  });
  run.started[c] = d;
  run.rec = { ...run.rec, processes: { ...run.rec.processes, [c]: d } };
  await writeRecord(layout, run.rec);
  await waitHealthy(run, c, d, Math.max(5_000, run.deadline - deps.clock.now())).catch(
    async (err: unknown) => {
      if (deps.signal?.aborted) throw err;
      const tail = await readLogTail(layout.log(c));
      throw new KubemarkError(
        "START_FAILED",
        `${describeError(err)}\nlast lines of ${layout.log(c)}:\n${tail}`,
        {
          cause: err,
        },
      );
    },
  );
}

/**
 * Carries out the plan for one component: keeps it, (re)starts it, or gives it
 * {@link RECOVERY_GRACE_MS} to recover behind a restarted dependency before restarting it.
 * Returns why it was restarted, or undefined when it kept running.
 */
async function bringUp(run: StartRun, c: Component, action: ComponentAction): Promise<string | undefined> {
  if (action.action === "keep") return undefined;
  let reason = action.reason;
  const d = run.rec.processes[c];
  if (action.action === "recheck" && d) {
    const { deps } = run;
    deps.onEvent?.({ kind: "step", message: `waiting for ${c} to recover` });
    const timeoutMs = Math.min(RECOVERY_GRACE_MS, Math.max(5_000, run.deadline - deps.clock.now()));
    const recovered = await waitHealthy(run, c, d, timeoutMs).then(
      () => true,
      (err: unknown) => {
        if (deps.signal?.aborted) throw err;
        return false;
      },
    );
    if (recovered) return undefined;
    reason = `${reason}, and still after ${Math.round(timeoutMs / 1000)}s`;
  }
  await stopComponent(run, c);
  await startComponent(run, c);
  return reason;
}

/** Brings every component up in start order, as planned; returns what it restarted and why. */
export async function startComponents(
  run: StartRun,
  plan: Record<Component, ComponentAction>,
): Promise<RestartedComponent[]> {
  const restarted: RestartedComponent[] = [];
  for (const c of COMPONENTS) {
    run.deps.signal?.throwIfAborted();
    const reason = await bringUp(run, c, plan[c]);
    if (reason !== undefined) restarted.push({ component: c, reason });
  }
  return restarted;
}

/** Ready means usable: the controllers have made the default ServiceAccount pods need. */
export async function waitForControllers(run: StartRun): Promise<void> {
  const { deps } = run;
  const admin = run.probes.admin;
  if (!admin) throw new KubemarkError("START_FAILED", "no admin client to check the controllers with");
  await waitUntil(
    async () => {
      await admin.get("/api/v1/namespaces/default/serviceaccounts/default");
      return { done: true, status: "ok" };
    },
    {
      what: "the controller-manager to create the default ServiceAccount",
      timeoutMs: Math.max(5_000, run.deadline - deps.clock.now()),
      intervalMs: 250,
      clock: deps.clock,
      ...(deps.signal ? { signal: deps.signal } : {}),
      onPoll: (r) => deps.onEvent?.({ kind: "wait", component: "controllers", status: r.status }),
    },
  );
}
