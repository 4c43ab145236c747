/**
 * `kubemark-cluster report` on the real control plane (issue 21): after hollow nodes and a small
 * Deployment, every SLI has a verdict, `-o json` parses, the HTML page renders in Chromium with
 * its plots and no console errors (screenshot saved), and bad input or an unreachable cluster is
 * an error that names the cause.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkPage } from "../browser.ts";
import { adminClientFor, cli, eventually, testCluster, type RunResult } from "../harness.ts";

const NS = "report-it";
const SLIS = [
  "API latency: mutating calls",
  "API latency: read-only, single object",
  "API latency: read-only, lists",
  "pod startup latency",
  "fleet: lease freshness",
  "fleet: lease renewal gaps",
  "fleet: NotReady transitions",
];

function ok(r: RunResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
}

/** A report ran: exit 0 when every SLI passed, 1 with the failed SLIs named when one failed. */
function reported(r: RunResult, what: string): void {
  const failed = /^\S.*\sFAIL\s/m.test(r.stdout) || /"verdict": "FAIL"/.test(r.stdout);
  if (failed) assert.match(r.stderr, /SLIs FAIL: /, `${what}: the failed SLIs are named`);
  assert.equal(r.code, failed ? 1 : 0, `${what} (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
}

test("report after create 20 and a 30-pod Deployment: table, JSON and HTML in Chromium", async () => {
  const out = await mkdtemp(join(tmpdir(), "kubemark-report-it-"));
  const client = await adminClientFor();
  const env = { KUBECONFIG: testCluster().kubeconfig };
  try {
    ok(await cli(["create", "20", "-n", NS], env, 600_000), "create 20");
    await client.request({
      method: "POST",
      path: `/apis/apps/v1/namespaces/${NS}/deployments`,
      body: {
        metadata: { name: "load" },
        spec: {
          replicas: 30,
          selector: { matchLabels: { app: "load" } },
          template: {
            metadata: { labels: { app: "load" } },
            spec: {
              nodeSelector: { "kubemark-cluster.io/fleet": NS },
              containers: [{ name: "app", image: "registry.k8s.io/pause:3.10" }],
            },
          },
        },
      },
    });
    await eventually("30 pods Running", 180_000, async () => {
      const l = await client.get<{ items: Array<{ status?: { phase?: string } }> }>(
        `/api/v1/namespaces/${NS}/pods`,
        {
          labelSelector: "app=load",
        },
      );
      const running = l.items.filter((p) => p.status?.phase === "Running").length;
      return { done: running === 30, status: `${running}/30 Running` };
    });

    const html = join(out, "report.html");
    const t = await cli(["report", "--since", "5m", "-n", NS, "--observe", "15s", "--html", html], env);
    reported(t, "report --since 5m");
    console.log(t.stdout);
    for (const sli of SLIS) {
      assert.match(
        t.stdout,
        new RegExp(`^${sli.replace(/[().]/g, "\\$&")}\\s.*\\s(PASS|FAIL|NO DATA|UNKNOWN)\\s`, "m"),
        sli,
      );
    }
    for (const sli of [
      "API latency: mutating calls",
      "pod startup latency",
      "fleet: lease freshness",
      "fleet: lease renewal gaps",
      "fleet: NotReady transitions",
    ]) {
      assert.match(t.stdout, new RegExp(`^${sli}\\s.*\\s(PASS|FAIL)\\s`, "m"), `${sli} has data`);
    }
    assert.match(t.stdout, /p99 <= [\d.]+ s/, "API p99 as a bucket bound");

    const j = await cli(["report", "--since", "5m", "-n", NS, "--observe", "0", "-o", "json"], env);
    reported(j, "report -o json");
    const r = JSON.parse(j.stdout) as {
      summary: Array<{ sli: string; verdict: string }>;
      podStartup: { pods: number; latencies: number[] };
      fleet: { nodes: number };
    };
    assert.deepEqual(
      r.summary.map((l) => l.sli),
      SLIS,
    );
    assert.ok(r.podStartup.latencies.length >= 30, `${r.podStartup.latencies.length} pod startups`);
    assert.equal(r.fleet.nodes, 20);

    assert.match(await readFile(html, "utf8"), /^<!doctype html>/);
    const screenshot = join(out, "report.png");
    const page = await checkPage(html, ".plot", screenshot);
    console.log(`report page screenshot: ${screenshot}`);
    assert.deepEqual(page.errors, [], "no console errors");
    assert.match(page.title, /kubemark-cluster report/);
    const ids = page.visible.map((v) => v.id);
    for (const id of [
      "plot-api-p99",
      "plot-latency-over-time",
      "plot-pod-startup-cdf",
      "plot-heartbeat-gaps",
    ]) {
      assert.ok(ids.includes(id), `${id} visible (${ids.join(", ")})`);
    }
    for (const v of page.visible)
      assert.ok(v.width > 300 && v.height > 100, `${v.id} has a size: ${v.width}x${v.height}`);
  } finally {
    await client
      .request({ method: "DELETE", path: `/apis/apps/v1/namespaces/${NS}/deployments/load` })
      .catch(() => undefined);
    await cli(["cleanup", "--all", "-n", NS], env, 300_000);
    await client.close();
    await rm(out, { recursive: true, force: true });
  }
});

test("report: bad --since, no mark, then a mark window; an unreachable cluster names the cause", async () => {
  const bad = await cli(["report", "--since", "ten"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--since must be a positive duration such as 10m.*got "ten"/);

  const both = await cli(["report", "--since", "1m", "--mark"]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /give --since or --mark, not both/);

  // A state directory of its own: no mark yet.
  const state = await mkdtemp(join(tmpdir(), "kubemark-report-marks-"));
  const env = { KUBEMARK_STATE_DIR: state, KUBECONFIG: testCluster().kubeconfig };
  const none = await cli(["report"], env);
  assert.equal(none.code, 2, none.stderr);
  assert.match(none.stderr, /no report mark for the cluster at https:\/\/127\.0\.0\.1:\d+/);
  assert.match(none.stderr, /hint: record one before the run with 'kubemark-cluster report --mark'/);

  const mark = await cli(["report", "--mark"], env);
  ok(mark, "report --mark");
  assert.match(mark.stdout, /mark recorded at/);
  const since = await cli(["report", "--observe", "0"], env);
  ok(since, "report since the mark");
  assert.match(since.stdout, /since the mark/);
  assert.match(since.stdout, /counts exact: counters since the mark/);

  const kc = await readFile(testCluster().kubeconfig, "utf8");
  const dead = join(state, "dead.kubeconfig");
  await writeFile(dead, kc.replace(/server: https:\/\/[^\s]+/, "server: https://127.0.0.1:1"));
  const down = await cli(["report", "--since", "1m", "--kubeconfig", dead], { KUBEMARK_STATE_DIR: state });
  assert.equal(down.code, 1);
  assert.match(down.stderr, /cannot reach the cluster at https:\/\/127\.0\.0\.1:1/);
  await rm(state, { recursive: true, force: true });
});
