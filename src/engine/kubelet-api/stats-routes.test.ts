import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { test } from "node:test";
import type { NodeApiView, UsagePod } from "./node-view.ts";
import type { RouteContext } from "./routes.ts";
import { kubeletRoutes } from "./stats-routes.ts";

const START = Date.parse("2026-11-30T10:00:00Z");

const pod = (cpu: string): UsagePod => ({
  namespace: "ns",
  name: "web",
  uid: "u1",
  annotations: { "kubemark-cluster.io/cpu-usage": cpu },
  startedAtMs: START,
  containers: [
    {
      name: "app",
      cpuRequestMilli: 100,
      cpuLimitMilli: undefined,
      memoryRequestBytes: 64 * 2 ** 20,
      memoryLimitBytes: undefined,
      startedAtMs: START,
    },
  ],
});

function view(pods: UsagePod[]): NodeApiView {
  return {
    name: "n-0",
    cpuCapacityMilli: 4000,
    memoryCapacityBytes: 8 * 2 ** 30,
    startedAtMs: START,
    usagePods: () => pods,
    podInfo: () => undefined,
    listPods: () => [],
  };
}

/** Calls a route's handler as the endpoint would, returning the status it wrote. */
function scrape(
  routes: ReturnType<typeof kubeletRoutes>,
  node: NodeApiView,
  path: string,
  nowMs: number,
): number {
  const route = routes.find((r) => r.pattern.test(path));
  assert.ok(route, path);
  let status = 0;
  const res = {
    writeHead(s: number) {
      status = s;
      return res;
    },
    end() {
      return res;
    },
  } as unknown as ServerResponse;
  route.handle({ res, node, nowMs, url: new URL(`https://n${path}`), params: [] } as unknown as RouteContext);
  return status;
}

test("a bad usage annotation is reported once per pod and value, after the scrape that found it", () => {
  const heard: string[] = [];
  const routes = kubeletRoutes(undefined, (node, p) =>
    heard.push(`${node} ${p.namespace}/${p.pod} ${p.annotation}`),
  );
  const pods = [pod("lots")];
  const node = view(pods);
  assert.equal(scrape(routes, node, "/metrics/resource", START + 15_000), 200);
  assert.deepEqual(heard, ["n-0 ns/web kubemark-cluster.io/cpu-usage"]);
  assert.equal(scrape(routes, node, "/stats/summary", START + 30_000), 200);
  assert.equal(heard.length, 1, "the same bad value is not reported again");
});

test("a good usage annotation is not a problem", () => {
  const heard: string[] = [];
  const routes = kubeletRoutes(undefined, (node) => heard.push(node));
  assert.equal(scrape(routes, view([pod("250m")]), "/metrics/resource", START + 15_000), 200);
  assert.deepEqual(heard, []);
});
