import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { request, type RequestOptions } from "node:https";
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { pino } from "pino";
import { FakeClock } from "../kernel/clock.ts";
import { KubemarkError } from "../kernel/errors.ts";
import type { HostedPod } from "./container-log.ts";
import { KubeletServer, type PodDirectory } from "./kubelet-server.ts";

const T0 = "2026-01-01T00:00:00Z";
const T1 = "2026-01-01T00:00:01Z";
const T2 = "2026-01-01T00:00:30Z";

/** The pods "this process runs": a map the tests change as the engine's nodes would. */
class FakeDirectory implements PodDirectory {
  readonly pods = new Map<string, HostedPod>();
  podInfo(namespace: string, name: string): HostedPod | undefined {
    return this.pods.get(`${namespace}/${name}`);
  }
  listPods(): object[] {
    return [...this.pods.values()].map((p) => ({
      metadata: { namespace: p.namespace, name: p.name, uid: p.uid },
    }));
  }
  put(p: HostedPod): void {
    this.pods.set(`${p.namespace}/${p.name}`, p);
  }
}

const web = (over: Partial<HostedPod> = {}): HostedPod => ({
  node: "logs-0",
  namespace: "default",
  name: "web",
  uid: "uid-web",
  containers: [{ name: "app", image: "nginx", sidecar: false }],
  initContainers: [{ name: "setup", image: "busybox", sidecar: false }],
  stage: "running",
  startedAt: T0,
  runningAt: T1,
  finishedAt: undefined,
  ...over,
});

const STARTED =
  "hollow container app of default/web started on node logs-0 (image nginx); kubemark-cluster hollow nodes run no processes";
const INITS = "init containers setup of default/web completed (exit code 0)";

interface Reply {
  status: number;
  type: string;
  body: string;
}

/** Waits (real time, bounded) until `cond` holds. */
async function until(what: string, cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond(), `timed out waiting for ${what}`);
}

describe("KubeletServer", () => {
  const clock = new FakeClock();
  const dir = new FakeDirectory();
  const server = new KubeletServer(
    { pods: dir, clock, log: pino({ level: "silent" }) },
    { address: "127.0.0.1", port: 0, followCheckMs: 1_000 },
  );
  const opts = (path: string, method = "GET"): RequestOptions => ({
    host: "127.0.0.1",
    port: server.port,
    path,
    method,
    rejectUnauthorized: false,
    agent: false,
  });
  const open = async (path: string, method = "GET"): Promise<IncomingMessage> => {
    const req = request(opts(path, method));
    req.end();
    const [res] = (await once(req, "response")) as [IncomingMessage];
    return res;
  };
  const get = async (path: string, method = "GET"): Promise<Reply> => {
    const res = await open(path, method);
    let body = "";
    for await (const chunk of res) body += (chunk as Buffer).toString("utf8");
    return { status: res.statusCode ?? 0, type: res.headers["content-type"] ?? "", body };
  };

  before(async () => {
    await server.start();
  });
  after(async () => {
    await server.stop();
  });

  test("serves HTTPS with a self-signed certificate for hollow-kubelet and the listen address", async () => {
    const req = request(opts("/healthz"));
    req.end();
    const [res] = (await once(req, "response")) as [IncomingMessage];
    const cert = (res.socket as TLSSocket).getPeerCertificate();
    res.resume();
    assert.equal(cert.subject.CN, "hollow-kubelet");
    assert.equal(cert.issuer.CN, "hollow-kubelet");
    assert.match(cert.subjectaltname ?? "", /IP Address:127\.0\.0\.1/);
  });

  test("/healthz answers ok", async () => {
    assert.deepEqual(await get("/healthz"), { status: 200, type: "text/plain; charset=utf-8", body: "ok" });
  });

  test("/pods lists every pod the process runs as a PodList", async () => {
    dir.pods.clear();
    dir.put(web());
    dir.put(web({ namespace: "other", name: "db", uid: "uid-db", node: "logs-1" }));
    const r = await get("/pods");
    assert.equal(r.status, 200);
    assert.equal(r.type, "application/json");
    const list = JSON.parse(r.body) as {
      kind: string;
      apiVersion: string;
      items: { metadata: { name: string } }[];
    };
    assert.equal(list.kind, "PodList");
    assert.equal(list.apiVersion, "v1");
    assert.deepEqual(list.items.map((p) => p.metadata.name).sort(), ["db", "web"]);
  });

  test("container logs: the lines of a known container, with timestamps only on request", async () => {
    dir.pods.clear();
    dir.put(web());
    assert.deepEqual(await get("/containerLogs/default/web/app"), {
      status: 200,
      type: "text/plain; charset=utf-8",
      body: `${INITS}\n${STARTED}\n`,
    });
    assert.equal(
      (await get("/containerLogs/default/web/app?timestamps=true")).body,
      `${T1} ${INITS}\n${T1} ${STARTED}\n`,
    );
    assert.equal((await get("/containerLogs/default/web/app?tailLines=1")).body, `${STARTED}\n`);
    assert.equal((await get("/containerLogs/default/web/app?tailLines=0")).body, "");
    assert.equal((await get("/containerLogs/default/web/app?limitBytes=10")).body, INITS.slice(0, 10));
    assert.equal(
      (await get("/containerLogs/default/web/setup")).body,
      "hollow init container setup of default/web started on node logs-0 (image busybox); kubemark-cluster hollow nodes run no processes\nhollow init container setup completed (exit code 0)\n",
    );
  });

  test("container logs: unknown pods, containers and paths are 404; bad queries, waiting and previous containers 400", async () => {
    dir.pods.clear();
    dir.put(web());
    dir.put(web({ name: "starting", uid: "uid-2", stage: "new" }));
    const cases: Array<[string, number, string]> = [
      [
        "/containerLogs/default/nope/app",
        404,
        'pod "default/nope" does not exist on this hollow-node process\n',
      ],
      ["/containerLogs/other/web/app", 404, 'pod "other/web" does not exist on this hollow-node process\n'],
      ["/containerLogs/default/web/nope", 404, 'container "nope" not found in pod "web"\n'],
      ["/containerLogs/default/web", 404, "404 page not found\n"],
      ["/exec/default/web/app", 404, "404 page not found\n"],
      ["/", 404, "404 page not found\n"],
      [
        "/containerLogs/default/web/app?tailLines=-3",
        400,
        'tailLines must be an integer of at least 0, got "-3"\n',
      ],
      [
        "/containerLogs/default/web/app?previous=true",
        400,
        'previous terminated container "app" in pod "web" not found\n',
      ],
      [
        "/containerLogs/default/starting/app",
        400,
        'container "app" in pod "starting" is waiting to start: ContainerCreating\n',
      ],
    ];
    for (const [path, status, body] of cases) {
      const r = await get(path);
      assert.deepEqual([r.status, r.body], [status, body], path);
    }
    assert.equal((await get("/healthz", "POST")).status, 405);
  });

  test("follow writes the lines, then new ones as the container exits, and ends with it", async () => {
    dir.pods.clear();
    dir.put(web());
    const res = await open("/containerLogs/default/web/app?follow=true&timestamps=true");
    assert.equal(res.statusCode, 200);
    let body = "";
    let ended = false;
    res.on("data", (b: Buffer) => (body += b.toString("utf8")));
    res.on("end", () => (ended = true));
    await until("the first lines", () => body === `${T1} ${INITS}\n${T1} ${STARTED}\n`);
    await clock.advance(1_000);
    assert.equal(ended, false, "still following a running container");
    dir.put(web({ stage: "terminated", finishedAt: T2 }));
    await clock.advance(1_000);
    await until("the response to end", () => ended);
    assert.equal(
      body,
      `${T1} ${INITS}\n${T1} ${STARTED}\n${T2} hollow container app stopped: the pod is being deleted (exit code 0)\n`,
    );
    assert.equal(clock.pending(), 0, "no check left behind");
  });

  test("follow ends when the pod is gone or replaced by one of the same name, saying its container stopped", async () => {
    for (const change of ["deleted", "replaced"]) {
      dir.pods.clear();
      dir.put(web());
      const res = await open("/containerLogs/default/web/app?follow=true&tailLines=1");
      let body = "";
      let ended = false;
      res.on("data", (b: Buffer) => (body += b.toString("utf8")));
      res.on("end", () => (ended = true));
      await until("the first line", () => body === `${STARTED}\n`);
      if (change === "deleted") dir.pods.clear();
      else dir.put(web({ uid: "uid-new" }));
      await clock.advance(1_000);
      await until(`the response to end once the pod is ${change}`, () => ended);
      assert.equal(
        body,
        `${STARTED}\nhollow container app stopped: the pod is being deleted (exit code 0)\n`,
        change,
      );
      assert.equal(clock.pending(), 0, `${change}: no check left behind`);
    }
  });

  test("follow stops checking when the client goes away", async () => {
    dir.pods.clear();
    dir.put(web());
    const res = await open("/containerLogs/default/web/app?follow=true");
    await once(res, "data");
    assert.equal(clock.pending(), 1, "one check scheduled");
    res.destroy();
    await until("the follow to stop", () => clock.pending() === 0);
  });

  test("a second server on the same port fails with PORT_IN_USE naming the flag", async () => {
    const other = new KubeletServer(
      { pods: dir, clock, log: pino({ level: "silent" }) },
      { address: "127.0.0.1", port: server.port },
    );
    await assert.rejects(other.start(), (err: unknown) => {
      assert.ok(err instanceof KubemarkError);
      assert.equal(err.code, "PORT_IN_USE");
      assert.match(err.message, new RegExp(`^--kubelet-port ${server.port} on 127\\.0\\.0\\.1 is in use`));
      return true;
    });
  });
});
