import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { Agent, request } from "node:https";
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { pino } from "pino";
import type { KubeRequest } from "../../client/kube-client.ts";
import { FakeClock } from "../../kernel/clock.ts";
import { KubemarkError } from "../../kernel/errors.ts";
import { pickFreePorts } from "../../host/ports.ts";
import type { HostedPod } from "../container-log.ts";
import { KubeletEndpoints } from "./endpoints.ts";
import { KubeletAuth } from "./kubelet-auth.ts";
import { kubeletRoutes } from "./stats-routes.ts";
import type { NodeApiView } from "./node-view.ts";

const T0 = "2026-01-01T00:00:00Z";
const T1 = "2026-01-01T00:00:01Z";
const T2 = "2026-01-01T00:00:30Z";

/** One node's pods: a map the tests change as the node would. */
class FakeNode implements NodeApiView {
  readonly pods = new Map<string, HostedPod>();
  readonly cpuCapacityMilli = 1000;
  readonly memoryCapacityBytes = 2 ** 30;
  readonly startedAtMs = 0;
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
  usagePods(): [] {
    return [];
  }
  podInfo(namespace: string, name: string): HostedPod | undefined {
    return this.pods.get(`${namespace}/${name}`);
  }
  listPods(): object[] {
    return [...this.pods.values()].map((p) => ({ metadata: { namespace: p.namespace, name: p.name } }));
  }
  put(p: HostedPod): void {
    this.pods.set(`${p.namespace}/${p.name}`, p);
  }
}

const web = (over: Partial<HostedPod> = {}): HostedPod => ({
  node: "n-0",
  namespace: "default",
  name: "web",
  uid: "uid-web",
  containers: [{ name: "app", image: "nginx", sidecar: false }],
  initContainers: [],
  stage: "running",
  startedAt: T0,
  runningAt: T1,
  finishedAt: undefined,
  ...over,
});
const STARTED =
  "hollow container app of default/web started on node n-0 (image nginx); kubemark-cluster hollow nodes run no processes";

/**
 * The API server's answers to the reviews, as this test's cluster has them: token "reader" is
 * user "reader", who may get nodes/proxy of n-0 only; token "nobody" is user "nobody", allowed
 * nothing; any other token is not authenticated. Every review is counted.
 */
function reviews(): { request<T>(req: KubeRequest): Promise<T>; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    request<T>(req: KubeRequest): Promise<T> {
      const body = req.body as { spec: Record<string, unknown> };
      if (req.path.endsWith("/tokenreviews")) {
        const token = body.spec["token"] as string;
        calls.push(`token ${token}`);
        const known = token === "reader" || token === "nobody" || token === "scraper";
        return Promise.resolve({
          status: known
            ? { authenticated: true, user: { username: token, groups: [] } }
            : { authenticated: false },
        } as T);
      }
      const spec = body.spec as { user: string; resourceAttributes: { subresource: string; name: string } };
      calls.push(`sar ${spec.user} ${spec.resourceAttributes.name}/${spec.resourceAttributes.subresource}`);
      if (spec.user === "scraper")
        return Promise.resolve({
          status: { allowed: ["metrics", "stats"].includes(spec.resourceAttributes.subresource) },
        } as T);
      const allowed =
        spec.user === "reader" &&
        spec.resourceAttributes.name === "n-0" &&
        spec.resourceAttributes.subresource === "proxy";
      return Promise.resolve({ status: { allowed } } as T);
    },
  };
}

interface Reply {
  status: number;
  body: string;
}

async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

describe("KubeletEndpoints", () => {
  const clock = new FakeClock();
  const nodes = [new FakeNode("n-0"), new FakeNode("n-1")];
  const api = reviews();
  const log = pino({ level: "silent" });
  let base = 0;
  let endpoints: KubeletEndpoints;
  const open = async (
    node: number,
    path: string,
    token?: string,
    method = "GET",
  ): Promise<IncomingMessage> => {
    const req = request({
      host: "127.0.0.1",
      port: base + node,
      path,
      method,
      rejectUnauthorized: false,
      agent: false,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    req.end();
    const [res] = (await once(req, "response")) as [IncomingMessage];
    return res;
  };
  const get = async (node: number, path: string, token?: string, method = "GET"): Promise<Reply> => {
    const res = await open(node, path, token, method);
    let body = "";
    for await (const chunk of res) body += (chunk as Buffer).toString("utf8");
    return { status: res.statusCode ?? 0, body };
  };

  before(async () => {
    [base] = (await pickFreePorts(1)) as [number];
    endpoints = new KubeletEndpoints(
      {
        node: (i) => nodes[i],
        auth: new KubeletAuth({ request: (r) => api.request(r), clock, log }),
        clock,
        log,
      },
      { address: "127.0.0.1", basePort: base, count: 2, followCheckMs: 1_000 },
    );
    await endpoints.start();
  });
  after(async () => {
    await endpoints.stop();
  });

  test("serves HTTPS with a self-signed certificate for hollow-kubelet", async () => {
    const res = await open(0, "/healthz", "reader");
    const cert = (res.socket as TLSSocket).getPeerCertificate();
    res.resume();
    assert.equal(cert.subject.CN, "hollow-kubelet");
    assert.match(cert.subjectaltname ?? "", /IP Address:127\.0\.0\.1/);
  });

  test("anonymous and unknown tokens get 401; every path, /healthz too", async () => {
    for (const path of ["/healthz", "/pods", "/containerLogs/default/web/app", "/nope"]) {
      assert.deepEqual(await get(0, path), { status: 401, body: "Unauthorized" }, path);
    }
    assert.deepEqual(await get(0, "/pods", "forged"), { status: 401, body: "Unauthorized" });
  });

  test("a user without nodes/proxy of the node gets the kubelet's 403", async () => {
    assert.deepEqual(await get(0, "/pods", "nobody"), {
      status: 403,
      body: "Forbidden (user=nobody, verb=get, resource=nodes, subresource(s)=[pods proxy])\n",
    });
    // reader may proxy to n-0 only.
    assert.deepEqual(await get(1, "/containerLogs/default/web/app", "reader"), {
      status: 403,
      body: "Forbidden (user=reader, verb=get, resource=nodes, subresource(s)=[proxy])\n",
    });
    assert.equal((await get(0, "/stats/summary", "reader")).status, 403, "stats needs nodes/stats");
  });

  test("each node answers on its own port with its own pods", async () => {
    nodes[0]!.put(web());
    nodes[1]!.put(web({ node: "n-1", namespace: "other", name: "db", uid: "uid-db" }));
    const list = JSON.parse((await get(0, "/pods", "reader")).body) as {
      kind: string;
      items: { metadata: { name: string } }[];
    };
    assert.equal(list.kind, "PodList");
    assert.deepEqual(
      list.items.map((p) => p.metadata.name),
      ["web"],
    );
    assert.deepEqual(await get(0, "/containerLogs/other/db/app", "reader"), {
      status: 404,
      body: 'pod "db" does not exist\n',
    });
  });

  test("answers are cached: a second request makes no review", async () => {
    const before = api.calls.length;
    await get(0, "/healthz", "reader");
    await get(0, "/healthz", "reader");
    assert.equal(api.calls.length, before, api.calls.slice(before).join(", "));
  });

  test("container logs, bad queries and unknown paths", async () => {
    nodes[0]!.pods.clear();
    nodes[0]!.put(web());
    assert.deepEqual(await get(0, "/containerLogs/default/web/app", "reader"), {
      status: 200,
      body: `${STARTED}\n`,
    });
    assert.equal((await get(0, "/containerLogs/default/web/app?tailLines=0", "reader")).body, "");
    assert.deepEqual(await get(0, "/containerLogs/default/web/nope", "reader"), {
      status: 404,
      body: 'container "nope" not found in pod "web"\n',
    });
    assert.equal((await get(0, "/containerLogs/default/web/app?tailLines=-3", "reader")).status, 400);
    assert.deepEqual(await get(0, "/nope", "reader"), { status: 404, body: "404 page not found\n" });
    assert.equal(
      (await get(0, "/pods", "reader", "DELETE")).status,
      405,
      "authorized, but /pods answers GET only",
    );
  });

  test("exec, attach, portForward and run answer at once: a hollow container has no runtime", async () => {
    nodes[0]!.pods.clear();
    nodes[0]!.put(web());
    for (const [path, method] of [
      ["/exec/default/web/app?command=sh", "GET"],
      ["/attach/default/web/uid-web/app", "GET"],
      ["/portForward/default/web", "GET"],
    ] as const) {
      const r = await get(0, path, "reader", method);
      assert.equal(r.status, 500, path);
      assert.match(
        r.body,
        /hollow container; kubemark-cluster hollow nodes run no processes and have no container runtime/,
      );
    }
    assert.deepEqual(await get(0, "/exec/default/nope/app", "reader"), {
      status: 404,
      body: "pod does not exist\n",
    });
  });

  test("follow writes new lines as the container exits, and ends with it", async () => {
    nodes[0]!.pods.clear();
    nodes[0]!.put(web());
    const res = await open(0, "/containerLogs/default/web/app?follow=true&timestamps=true", "reader");
    assert.equal(res.statusCode, 200);
    let body = "";
    let ended = false;
    res.on("data", (b: Buffer) => (body += b.toString("utf8")));
    res.on("end", () => (ended = true));
    await until("the first line", () => body === `${T1} ${STARTED}\n`);
    nodes[0]!.put(web({ stage: "terminated", finishedAt: T2 }));
    await clock.advance(1_000);
    await until("the response to end", () => ended);
    assert.match(body, /hollow container app stopped: the pod is being deleted \(exit code 0\)\n$/);
  });

  test("the stats routes: /metrics/resource, /stats/summary and /metrics of the node, for nodes/metrics and nodes/stats", async () => {
    const [port] = (await pickFreePorts(1)) as [number];
    const stats = new KubeletEndpoints(
      {
        node: (i) => nodes[i],
        auth: new KubeletAuth({ request: (r) => api.request(r), clock, log }),
        clock,
        log,
      },
      { address: "127.0.0.1", basePort: port, count: 1, routes: kubeletRoutes() },
    );
    await stats.start();
    try {
      const saved = base;
      base = port;
      try {
        const metrics = await get(0, "/metrics/resource", "scraper");
        assert.equal(metrics.status, 200);
        assert.match(metrics.body, /^# HELP node_cpu_usage_seconds_total/m);
        const summary = await get(0, "/stats/summary", "scraper");
        assert.equal(summary.status, 200);
        assert.equal((JSON.parse(summary.body) as { node: { nodeName: string } }).node.nodeName, "n-0");
        assert.match((await get(0, "/metrics", "scraper")).body, /kubelet_node_name\{node="n-0"\} 1/);
        const cadvisor = await get(0, "/metrics/cadvisor", "scraper");
        assert.equal(cadvisor.status, 200);
        assert.match(cadvisor.body, /^machine_cpu_cores\{/m);
        assert.equal((await get(0, "/pods", "scraper")).status, 403);
      } finally {
        base = saved;
      }
    } finally {
      await stats.stop();
    }
  });

  test("a port in use fails with PORT_IN_USE naming the node's port", async () => {
    const other = new KubeletEndpoints(
      {
        node: () => undefined,
        auth: new KubeletAuth({ request: (r) => api.request(r), clock, log }),
        clock,
        log,
      },
      { address: "127.0.0.1", basePort: base, count: 2 },
    );
    await assert.rejects(other.start(), (err: unknown) => {
      assert.ok(err instanceof KubemarkError);
      assert.equal(err.code, "PORT_IN_USE");
      assert.match(err.message, new RegExp(`^port ${base} on 127\\.0\\.0\\.1 \\(node 0 of this process`));
      return true;
    });
  });

  test("stop ends a scraper's keep-alive connection instead of waiting for it (metrics-server never closes its own)", async () => {
    const [port] = (await pickFreePorts(1)) as [number];
    const scraped = new KubeletEndpoints(
      {
        node: (i) => nodes[i],
        auth: new KubeletAuth({ request: (r) => api.request(r), clock, log }),
        clock,
        log,
      },
      { address: "127.0.0.1", basePort: port, count: 1 },
    );
    await scraped.start();
    const agent = new Agent({ keepAlive: true, rejectUnauthorized: false });
    try {
      const req = request({ host: "127.0.0.1", port, path: "/healthz", agent });
      req.end();
      const [res] = (await once(req, "response")) as [IncomingMessage];
      res.resume();
      await once(res, "end");
      const stopped = await Promise.race([
        scraped.stop().then(() => "stopped"),
        new Promise<string>((r) => setTimeout(() => r("still waiting after 3 s"), 3_000).unref()),
      ]);
      assert.equal(stopped, "stopped");
    } finally {
      agent.destroy();
      await scraped.stop();
    }
  });
});
