import { test } from "node:test";
import assert from "node:assert/strict";
import { STOPS_PROMPTLY, podStopSchedule, stopModel, type StopModel } from "./container-stop.ts";

test("stopModel and podStopSchedule: preStop hooks, SIGTERM ignored by a sleep or shell as PID 1, the grace period caps", () => {
  assert.deepEqual(stopModel({}), STOPS_PROMPTLY, "a server image stops on SIGTERM");
  assert.deepEqual(stopModel({ command: ["/pause"] }), STOPS_PROMPTLY, "pause handles SIGTERM");
  assert.deepEqual(stopModel({ command: ["sleep", "3600"] }), { preStopMs: 0, ignoresTerm: true });
  assert.deepEqual(stopModel({ command: ["sh", "-c", "sleep 5"] }), { preStopMs: 0, ignoresTerm: true });
  assert.deepEqual(stopModel({ lifecycle: { preStop: { exec: { command: ["sh", "-c", "sleep 5"] } } } }), {
    preStopMs: 5_000,
    ignoresTerm: false,
  });
  assert.deepEqual(
    stopModel({ lifecycle: { preStop: { exec: { command: ["/drain.sh"] } } } }),
    STOPS_PROMPTLY,
    "a hook the model cannot read returns at once",
  );
  const pod = (stops: StopModel[], annotations?: Record<string, string>, sidecars: StopModel[] = []) => ({
    metadata: annotations ? { annotations } : {},
    spec: {
      containers: stops.map((stop, i) => ({ name: `c${i}`, stop })),
      initContainers: sidecars.map((stop, i) => ({ name: `s${i}`, restartPolicy: "Always", stop })),
    },
  });
  const stopMs = (p: ReturnType<typeof pod>, graceMs: number): number =>
    Math.max(...podStopSchedule(p, graceMs).map((s) => s.atMs));
  const ignores = (preStopMs = 0): StopModel => ({ preStopMs, ignoresTerm: true });
  const hook = (preStopMs: number): StopModel => ({ preStopMs, ignoresTerm: false });
  // [containers, grace ms, pod stopped after ms, why]
  const rows: [StopModel[], number, number, string][] = [
    [[STOPS_PROMPTLY], 30_000, 0, "stops on SIGTERM"],
    [[STOPS_PROMPTLY, ignores()], 30_000, 30_000, "one ignores SIGTERM: killed when the grace ends"],
    [[hook(5_000)], 30_000, 5_000, "the hook, then SIGTERM"],
    [[hook(50_000)], 30_000, 30_000, "a hook is cut off when the grace ends"],
    [[ignores(5_000)], 30_000, 30_000, "the hook's time counts against the grace period"],
    [[ignores(29_000)], 30_000, 31_000, "at least 2 s after SIGTERM"],
    [[ignores(50_000)], 30_000, 32_000, "the hook cut off, then the 2 s window"],
    [[ignores()], 1_000, 2_000, "a short grace still gives 2 s"],
    [[ignores(5_000)], 0, 0, "grace 0 (forced): at once"],
  ];
  for (const [stops, grace, want, why] of rows) assert.equal(stopMs(pod(stops), grace), want, why);
  assert.equal(stopMs(pod([STOPS_PROMPTLY], { "kubemark-cluster.io/stop-seconds": "12" }), 30_000), 12_000);
  assert.equal(stopMs(pod([STOPS_PROMPTLY], { "kubemark-cluster.io/stop-seconds": "99" }), 30_000), 30_000);
});

test("podStopSchedule: main containers stop first, then the sidecars in reverse order, within the grace period", () => {
  const pod = (main: StopModel[], sidecars: StopModel[], annotations?: Record<string, string>) => ({
    metadata: annotations ? { annotations } : {},
    spec: {
      containers: main.map((stop, i) => ({ name: `c${i}`, stop })),
      initContainers: [
        { name: "init" },
        ...sidecars.map((stop, i) => ({ name: `s${i}`, restartPolicy: "Always", stop })),
      ],
    },
  });
  const at = (p: ReturnType<typeof pod>, graceMs: number) =>
    podStopSchedule(p, graceMs).map((s) => `${s.name}@${s.atMs / 1000}${s.killed ? "!" : ""}`);
  const ignores: StopModel = { preStopMs: 0, ignoresTerm: true };
  const hook = (ms: number): StopModel => ({ preStopMs: ms, ignoresTerm: false });
  // Prompt sidecars stop once the main container has.
  assert.deepEqual(at(pod([hook(4_000)], [STOPS_PROMPTLY, STOPS_PROMPTLY]), 30_000), [
    "c0@4",
    "s1@4",
    "s0@4",
  ]);
  // A sidecar that ignores SIGTERM gets what is left of the grace (at least 2 s): the earlier
  // sidecar waits for it.
  assert.deepEqual(at(pod([hook(4_000)], [STOPS_PROMPTLY, ignores]), 30_000), ["c0@4", "s1@30!", "s0@30"]);
  // A main container that ignores SIGTERM: the sidecars get their 2 s window after it.
  assert.deepEqual(at(pod([ignores], [ignores]), 30_000), ["c0@30!", "s0@32!"]);
  // The stop-seconds annotation sets the main containers' time.
  assert.deepEqual(
    at(pod([STOPS_PROMPTLY], [STOPS_PROMPTLY], { "kubemark-cluster.io/stop-seconds": "7" }), 30_000),
    ["c0@7", "s0@7"],
  );
});
