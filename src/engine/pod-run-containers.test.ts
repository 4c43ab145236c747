// Pods whose containers do not run alike: each container restarts, backs off and ends on its own.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type ContainerState,
  registered,
  makePod,
  bind,
  writtenStatuses,
} from "./testdata/hollow-node-harness.ts";

type Seen = { state: ContainerState; restartCount: number; lastState: { terminated?: { exitCode: number } } };

/** Each new status written for pod `name`, one line: time, phase, Ready, and each container. */
function recorder(h: Awaited<ReturnType<typeof registered>>, name: string): () => string[] {
  const t0 = h.clock.now();
  const seen: string[] = [];
  return () => {
    for (const s of writtenStatuses(h.api, name).slice(seen.length)) {
      const cs = (s.containerStatuses as unknown as Seen[]).map((c) => {
        const state = c.state.running
          ? "running"
          : (c.state.waiting?.reason ?? `exited(${c.state.terminated?.exitCode})`);
        return `${state}/${c.restartCount}`;
      });
      const ready = s.conditions.find((c) => c.type === "Ready")?.status;
      seen.push(`${Math.round((h.clock.now() - t0) / 1000)}s ${s.phase} ready=${ready} ${cs.join(" ")}`);
    }
    return seen;
  };
}

test("multi-container pods: a crashing container restarts with its own back-off while the other keeps running", async () => {
  const h = await registered({ traffic: "minimal" });
  bind(
    h,
    makePod("pair", {
      restartPolicy: "Always",
      containers: [
        { name: "app", image: "busybox", command: ["sh", "-c", "sleep 2; exit 1"] },
        { name: "web", image: "nginx" },
      ],
    }),
  );
  const record = recorder(h, "pair");
  for (let i = 0; i < 40; i++) {
    await h.clock.advance(1_000);
    record();
  }
  assert.deepEqual(record(), [
    "1s Running ready=True running/0 running/0",
    "2s Running ready=True running/1 running/0", // first exit: restarted at once
    "4s Running ready=False CrashLoopBackOff/1 running/0", // second exit: back-off 10 s
    "14s Running ready=True running/2 running/0",
    "16s Running ready=False CrashLoopBackOff/2 running/0", // back-off 20 s
    "36s Running ready=True running/3 running/0",
    "38s Running ready=False CrashLoopBackOff/3 running/0",
  ]);
  const last = writtenStatuses(h.api, "pair").at(-1)!;
  const app = last.containerStatuses[0] as unknown as Seen;
  assert.equal(app.lastState.terminated?.exitCode, 1);
  assert.deepEqual(
    last.conditions.find((c) => c.type === "Ready"),
    {
      type: "Ready",
      status: "False",
      reason: "ContainersNotReady",
      message: "containers with unready status: [app]",
      lastProbeTime: null,
      lastTransitionTime: (
        last.containerStatuses[0] as unknown as { lastState: { terminated: { finishedAt: string } } }
      ).lastState.terminated.finishedAt,
    },
  );
});

test("multi-container pods: with restartPolicy Never each container ends on its own; the pod ends with the last, Failed if one failed", async () => {
  const h = await registered({ traffic: "minimal" });
  bind(
    h,
    makePod("never", {
      restartPolicy: "Never",
      containers: [
        { name: "a", image: "busybox", command: ["sh", "-c", "sleep 2; exit 3"] },
        { name: "b", image: "busybox", command: ["sleep", "5"] },
      ],
    }),
  );
  bind(
    h,
    makePod("serving", {
      restartPolicy: "OnFailure",
      containers: [
        { name: "done", image: "busybox", command: ["true"] },
        { name: "srv", image: "nginx" },
      ],
    }),
  );
  const never = recorder(h, "never");
  const serving = recorder(h, "serving");
  for (let i = 0; i < 10; i++) {
    await h.clock.advance(1_000);
    never();
    serving();
  }
  assert.deepEqual(never(), [
    "1s Running ready=True running/0 running/0",
    "2s Running ready=False exited(3)/0 running/0",
    "5s Failed ready=False exited(3)/0 exited(0)/0",
  ]);
  // OnFailure: a container that succeeded stays terminated; the server keeps the pod Running.
  assert.deepEqual(serving(), [
    "1s Running ready=True running/0 running/0",
    "1s Running ready=False exited(0)/0 running/0",
  ]);
});
