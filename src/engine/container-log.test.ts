import { test } from "node:test";
import assert from "node:assert/strict";
import {
  containerLog,
  formatLines,
  parseLogQuery,
  selectLines,
  type HostedPod,
  type LogLine,
  type LogQuery,
} from "./container-log.ts";

const T0 = "2026-01-01T00:00:00Z";
const T1 = "2026-01-01T00:00:02Z";
const T2 = "2026-01-01T00:01:00Z";

const pod = (over: Partial<HostedPod> = {}): HostedPod => ({
  node: "logs-0",
  namespace: "team",
  name: "web-1",
  uid: "uid-1",
  containers: [{ name: "web", image: "nginx:1.27", sidecar: false }],
  initContainers: [
    { name: "setup", image: "busybox", sidecar: false },
    { name: "proxy", image: "envoy", sidecar: true },
  ],
  stage: "running",
  startedAt: T0,
  runningAt: T1,
  finishedAt: undefined,
  ...over,
});

const STARTED_WEB =
  "hollow container web of team/web-1 started on node logs-0 (image nginx:1.27); kubemark-cluster hollow nodes run no processes";

test("containerLog: a running container's lines say what it is, where it runs and that nothing runs", () => {
  assert.deepEqual(containerLog(pod(), "web"), {
    kind: "lines",
    lines: [
      { time: T1, message: "init containers setup of team/web-1 completed (exit code 0)" },
      { time: T1, message: STARTED_WEB },
    ],
    exited: false,
  });
  assert.deepEqual(containerLog(pod({ initContainers: [] }), "web"), {
    kind: "lines",
    lines: [{ time: T1, message: STARTED_WEB }],
    exited: false,
  });
});

test("containerLog: a line per state change, by stage and container kind", () => {
  const cases: Array<[string, Partial<HostedPod>, string, string[] | string, boolean?]> = [
    [
      "succeeded main",
      { stage: "succeeded", finishedAt: T2 },
      "web",
      ["", STARTED_WEB, `${T2} hollow container web completed (exit code 0)`],
      true,
    ],
    [
      "terminated main",
      { stage: "terminated", finishedAt: T2 },
      "web",
      ["", STARTED_WEB, `${T2} hollow container web stopped: the pod is being deleted (exit code 0)`],
      true,
    ],
    [
      "terminated without a known time",
      { stage: "terminated" },
      "web",
      ["", STARTED_WEB, `${T1} hollow container web stopped: the pod is being deleted (exit code 0)`],
      true,
    ],
    [
      "init container after init",
      {},
      "setup",
      ["started", `${T1} hollow init container setup completed (exit code 0)`],
      true,
    ],
    ["first init container while initializing", { stage: "initializing" }, "setup", ["started"], false],
    ["sidecar while running", {}, "proxy", ["started"], false],
    [
      "sidecar after the pod finished",
      { stage: "succeeded", finishedAt: T2 },
      "proxy",
      ["started", `${T2} hollow init container proxy completed (exit code 0)`],
      true,
    ],
    [
      "main while initializing",
      { stage: "initializing" },
      "web",
      'container "web" in pod "web-1" is waiting to start: PodInitializing',
    ],
    [
      "main before the first status",
      { stage: "new" },
      "web",
      'container "web" in pod "web-1" is waiting to start: ContainerCreating',
    ],
    [
      "second init container while initializing",
      { stage: "initializing" },
      "proxy",
      'container "proxy" in pod "web-1" is waiting to start: PodInitializing',
    ],
  ];
  for (const [what, over, container, want, exited] of cases) {
    const log = containerLog(pod(over), container);
    if (typeof want === "string") {
      assert.deepEqual(log, { kind: "waiting", message: want }, what);
      continue;
    }
    assert.equal(log.kind, "lines", what);
    if (log.kind !== "lines") continue;
    assert.equal(log.exited, exited, `${what}: exited`);
    assert.equal(log.lines.length, want.length, `${what}: ${JSON.stringify(log.lines)}`);
    want.forEach((w, i) => {
      const line = log.lines[i]!;
      if (w === "started")
        assert.match(line.message, /^hollow init container \w+ of team\/web-1 started on node logs-0/, what);
      else if (w === STARTED_WEB) assert.equal(line.message, STARTED_WEB, what);
      else if (w !== "") assert.equal(`${line.time} ${line.message}`, w, what);
    });
  }
});

test("containerLog: an unknown container is not found", () => {
  assert.deepEqual(containerLog(pod(), "nope"), {
    kind: "not-found",
    message: 'container "nope" not found in pod "web-1"',
  });
});

const NOW = Date.parse("2026-01-01T00:02:00Z");
const query = (s: string): LogQuery | { error: string } => parseLogQuery(new URLSearchParams(s), NOW);

test("parseLogQuery reads what the API server sends and names bad values", () => {
  assert.deepEqual(query(""), {
    follow: false,
    tailLines: undefined,
    limitBytes: undefined,
    timestamps: false,
    previous: false,
    sinceMs: undefined,
  });
  assert.deepEqual(
    query("follow=true&tailLines=2&limitBytes=10&timestamps=true&previous=true&sinceSeconds=60"),
    {
      follow: true,
      tailLines: 2,
      limitBytes: 10,
      timestamps: true,
      previous: true,
      sinceMs: NOW - 60_000,
    },
  );
  assert.equal((query(`sinceTime=${T2}`) as LogQuery).sinceMs, Date.parse(T2));
  const bad: Array<[string, string]> = [
    ["tailLines=-1", 'tailLines must be an integer of at least 0, got "-1"'],
    ["tailLines=x", 'tailLines must be an integer of at least 0, got "x"'],
    ["limitBytes=0", 'limitBytes must be an integer of at least 1, got "0"'],
    ["sinceSeconds=1.5", 'sinceSeconds must be an integer of at least 1, got "1.5"'],
    ["sinceTime=yesterday", 'sinceTime must be an RFC 3339 time, got "yesterday"'],
  ];
  for (const [q, error] of bad) assert.deepEqual(query(q), { error }, q);
});

test("selectLines keeps lines since a time, then the last tailLines; formatLines adds times on request", () => {
  const lines: LogLine[] = [
    { time: T0, message: "a" },
    { time: T1, message: "b" },
    { time: T2, message: "c" },
  ];
  const q = (s: string): LogQuery => query(s) as LogQuery;
  const cases: Array<[string, string[]]> = [
    ["", ["a", "b", "c"]],
    ["tailLines=2", ["b", "c"]],
    ["tailLines=0", []],
    ["tailLines=10", ["a", "b", "c"]],
    [`sinceTime=${T1}`, ["b", "c"]],
    ["sinceSeconds=60", ["c"]],
    [`sinceTime=${T0}&tailLines=1`, ["c"]],
  ];
  for (const [s, want] of cases)
    assert.deepEqual(
      selectLines(lines, q(s)).map((l) => l.message),
      want,
      s,
    );
  assert.equal(formatLines(lines.slice(0, 2), false), "a\nb\n");
  assert.equal(formatLines(lines.slice(0, 2), true), `${T0} a\n${T1} b\n`);
  assert.equal(formatLines([], true), "");
});
