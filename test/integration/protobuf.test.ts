/**
 * The kubelet's objects in protobuf against the real API server (#22): a Node, a CSINode, a core/v1
 * and an events.k8s.io/v1 Event are written in protobuf by the codec (src/client/protobuf-types.ts)
 * and read back as JSON: the server stored every field the engine meant (a wrong field number
 * would be dropped or land in another field). Their protobuf answers decode to what their JSON
 * answers say. With KUBEMARK_CAPTURE_PROTOBUF=1 the server's protobuf and JSON answers are saved
 * under src/client/testdata/protobuf/ for the codec's unit tests.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { KubeClient } from "../../src/client/kube-client.ts";
import { decodeAs, type ProtoType } from "../../src/client/protobuf-schema.ts";
import {
  CORE_EVENT,
  CSI_NODE,
  EVENTS_V1_EVENT,
  NODE,
  TOKEN_REQUEST,
} from "../../src/client/protobuf-types.ts";
import { DEFAULT_SHAPE } from "../../src/engine/config.ts";
import { renderCsiNode, renderNode, rfc3339, type NodeIdentity } from "../../src/engine/node-object.ts";
import { readObjectMeta, decodeObject } from "../../src/client/protobuf.ts";
import { like, withoutZeros } from "../../src/client/testdata/protobuf-compare.ts";
import { adminClientFor, ROOT } from "../harness.ts";

const NAME = `it-protobuf-${process.pid}`;
const NS = "default";
const CAPTURE = process.env["KUBEMARK_CAPTURE_PROTOBUF"] === "1";
const TESTDATA = join(ROOT, "src/client/testdata/protobuf");

const id: NodeIdentity = {
  name: NAME,
  shape: {
    ...DEFAULT_SHAPE,
    taints: [{ key: "kubemark-cluster.io/test", value: "protobuf", effect: "NoSchedule" }],
    extendedResources: { "example.com/gpu": "2" },
  },
  ip: "10.250.0.7",
  kubeletVersion: "v1.36.3",
  kubeletPort: 10250,
  endpointAddress: "127.0.0.1",
  fleet: "it-protobuf",
  nodeLabels: { "node-role.kubernetes.io/hollow": "" },
};

describe("protobuf as a kubelet sends it, on the real API server", () => {
  let client: KubeClient;

  /** GETs `path` in protobuf (the bytes) and in JSON; saves both when capturing. */
  async function both(path: string, file: string): Promise<{ bytes: Uint8Array; json: unknown }> {
    // Both of one version of the object (a controller may write it in between).
    let bytes: Uint8Array;
    let json: { metadata: { resourceVersion: string } };
    do {
      bytes = await client.request<Uint8Array>({ method: "GET", path, accept: "protobuf" });
      assert.ok(bytes instanceof Uint8Array, `${path} answered protobuf`);
      json = await client.get(path);
    } while (readObjectMeta(decodeObject(bytes).raw).resourceVersion !== json.metadata.resourceVersion);
    if (CAPTURE) {
      await mkdir(TESTDATA, { recursive: true });
      await writeFile(join(TESTDATA, `${file}.pb`), bytes);
      await writeFile(join(TESTDATA, `${file}.json`), JSON.stringify(json, null, 2) + "\n");
    }
    return { bytes, json };
  }

  /** The protobuf answer, decoded with the type's full write schema, says what the JSON one says. */
  function sameAsJson(type: ProtoType, bytes: Uint8Array, json: unknown): void {
    const full = decodeAs<Record<string, unknown>>({ ...type, read: type.write }, bytes);
    assert.deepEqual(withoutZeros(full), withoutZeros(like(json, full)));
  }

  before(async () => {
    client = await adminClientFor();
  });

  after(async () => {
    const gone = (): undefined => undefined;
    await client.request({ method: "DELETE", path: `/api/v1/nodes/${NAME}` }).catch(gone);
    await client.request({ method: "DELETE", path: `/apis/storage.k8s.io/v1/csinodes/${NAME}` }).catch(gone);
    await client.request({ method: "DELETE", path: `/api/v1/namespaces/${NS}/events/${NAME}.1` }).catch(gone);
    await client
      .request({
        method: "DELETE",
        path: `/api/v1/namespaces/${NS}/pods/${NAME}`,
        query: { gracePeriodSeconds: 0 },
      })
      .catch(gone);
    await client
      .request({ method: "DELETE", path: `/apis/events.k8s.io/v1/namespaces/${NS}/events/${NAME}.2` })
      .catch(gone);
    await client.close();
  });

  test("a Node POSTed in protobuf is the Node the engine rendered; its answers decode as their JSON", async () => {
    const body = renderNode(id, rfc3339(Date.now()), {
      labels: { "topology.hollow.csi/node": NAME },
      annotations: { "csi.volume.kubernetes.io/nodeid": `{"hollow":"${NAME}"}` },
    });
    const created = await client.request<{ metadata: { uid: string; labels: Record<string, string> } }>({
      method: "POST",
      path: "/api/v1/nodes",
      body,
      proto: NODE,
    });
    assert.ok(created.metadata.uid, "the decoded answer has the uid");
    const { bytes, json } = await both(`/api/v1/nodes/${NAME}`, "node");
    const { apiVersion: _a, kind: _k, ...want } = body;
    assert.deepEqual(like(json, want), want, "the server stored every field the engine wrote");
    sameAsJson(NODE, bytes, json);
    // What the engine reads: the read schema's fields only.
    const read = decodeAs<Record<string, unknown>>(NODE, bytes);
    assert.deepEqual(Object.keys(read).sort(), ["apiVersion", "kind", "metadata", "spec", "status"]);
    assert.equal((read as { metadata: { uid: string } }).metadata.uid, created.metadata.uid);
    // A strategic-merge PATCH stays JSON; its answer comes in protobuf.
    const patched = await client.request<{ metadata: { labels: Record<string, string> } }>({
      method: "PATCH",
      path: `/api/v1/nodes/${NAME}`,
      patchType: "strategic",
      body: { metadata: { labels: { "kubemark-cluster.io/patched": "yes" } } },
      proto: NODE,
    });
    assert.equal(patched.metadata.labels["kubemark-cluster.io/patched"], "yes");
    // The kubelet's Node watch in protobuf (length-prefixed frames), kept for the codec's tests.
    const stream = await client.request<Uint8Array>({
      method: "GET",
      path: "/api/v1/nodes",
      query: { watch: 1, fieldSelector: `metadata.name=${NAME}`, timeoutSeconds: 1 },
      accept: "protobuf",
    });
    assert.ok(stream instanceof Uint8Array && stream.length > 8, "the watch answered protobuf frames");
    if (CAPTURE) await writeFile(join(TESTDATA, "node-watch.pb"), stream);
  });

  test("a CSINode POSTed, read and PUT back in protobuf keeps its owner and gets its driver", async () => {
    const node = await client.get<{ metadata: { uid: string } }>(`/api/v1/nodes/${NAME}`);
    await client.request({
      method: "POST",
      path: "/apis/storage.k8s.io/v1/csinodes",
      body: renderCsiNode(NAME, node.metadata.uid),
      proto: CSI_NODE,
    });
    const path = `/apis/storage.k8s.io/v1/csinodes/${NAME}`;
    const read = await client.request<{ spec: Record<string, unknown> }>({
      method: "GET",
      path,
      proto: CSI_NODE,
    });
    const driver = {
      name: "hollow.csi",
      nodeID: NAME,
      topologyKeys: ["topology.hollow.csi/node"],
      allocatable: { count: 7 },
    };
    await client.request({
      method: "PUT",
      path,
      body: { ...read, spec: { ...read.spec, drivers: [driver] } },
      proto: CSI_NODE,
    });
    const { bytes, json } = await both(path, "csinode");
    const stored = json as { metadata: { ownerReferences: unknown[] }; spec: { drivers: unknown[] } };
    assert.deepEqual(stored.spec.drivers, [driver]);
    assert.deepEqual(stored.metadata.ownerReferences, [
      { apiVersion: "v1", kind: "Node", name: NAME, uid: node.metadata.uid },
    ]);
    sameAsJson(CSI_NODE, bytes, json);
  });

  test("Events POSTed in protobuf (core/v1 as the kubelet's, events.k8s.io/v1 as kube-proxy's) are stored whole", async () => {
    const now = Date.now();
    const core = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: `${NAME}.1`, namespace: NS },
      involvedObject: { kind: "Node", name: NAME, uid: NAME },
      reason: "Starting",
      message: "Starting kubelet.",
      source: { component: "kubelet", host: NAME },
      firstTimestamp: rfc3339(now),
      lastTimestamp: rfc3339(now),
      count: 1,
      type: "Normal",
      eventTime: null,
      reportingComponent: "kubelet",
      reportingInstance: NAME,
    };
    await client.request({
      method: "POST",
      path: `/api/v1/namespaces/${NS}/events`,
      body: core,
      proto: CORE_EVENT,
    });
    const c = await both(`/api/v1/namespaces/${NS}/events/${NAME}.1`, "event");
    const { apiVersion: _a, kind: _k, eventTime: _e, ...want } = core;
    assert.deepEqual(like(c.json, want), want);
    sameAsJson(CORE_EVENT, c.bytes, c.json);
    // A repeat is a strategic-merge PATCH of its count (JSON), answered in protobuf.
    const patched = await client.request<{ count: number }>({
      method: "PATCH",
      path: `/api/v1/namespaces/${NS}/events/${NAME}.1`,
      patchType: "strategic",
      body: { count: 2, lastTimestamp: rfc3339(now + 1000), message: "Starting kubelet." },
      proto: CORE_EVENT,
    });
    assert.equal(patched.count, 2);

    const v1 = {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: { name: `${NAME}.2`, namespace: NS },
      eventTime: new Date(now).toISOString().replace(/Z$/, "123Z"),
      reportingController: "kube-proxy",
      reportingInstance: `kube-proxy-${NAME}`,
      action: "StartKubeProxy",
      reason: "Starting",
      type: "Normal",
      regarding: { kind: "Node", name: NAME, uid: NAME },
    };
    await client.request({
      method: "POST",
      path: `/apis/events.k8s.io/v1/namespaces/${NS}/events`,
      body: v1,
      proto: EVENTS_V1_EVENT,
    });
    const e = await both(`/apis/events.k8s.io/v1/namespaces/${NS}/events/${NAME}.2`, "events-v1-event");
    const { apiVersion: _b, kind: _c, ...want1 } = v1;
    assert.deepEqual(like(e.json, want1), want1);
    sameAsJson(EVENTS_V1_EVENT, e.bytes, e.json);
  });

  test("a TokenRequest POSTed in protobuf, as the kubelet's token manager sends it, is bound to its pod; the engine reads its expiry, never the token", async () => {
    // A pod to bind the token to (on a Node that does not exist: it never runs).
    const pod = await client.request<{ metadata: { uid: string } }>({
      method: "POST",
      path: `/api/v1/namespaces/${NS}/pods`,
      body: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: NAME },
        spec: {
          nodeName: `${NAME}-absent`,
          containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }],
        },
      },
    });
    const body = {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: {
        audiences: ["https://kubernetes.default.svc"],
        expirationSeconds: 3607,
        boundObjectRef: { apiVersion: "v1", kind: "Pod", name: NAME, uid: pod.metadata.uid },
      },
    };
    const path = `/api/v1/namespaces/${NS}/serviceaccounts/default/token`;
    const sent = Date.now();
    // The answer decoded with the full schema: the server read every field the engine wrote.
    const full = await client.request<{
      spec: typeof body.spec;
      status: { token?: string; expirationTimestamp: string };
    }>({
      method: "POST",
      path,
      body,
      proto: {
        ...TOKEN_REQUEST,
        read: {
          ...TOKEN_REQUEST.write,
          status: { n: 3, t: { token: { n: 1, t: "string" }, expirationTimestamp: { n: 2, t: "time" } } },
        },
      },
    });
    assert.deepEqual(full.spec, body.spec, "the server decoded the protobuf body as the engine meant it");
    assert.ok((full.status.token ?? "").split(".").length === 3, "a JWT came back (not printed)");
    const expires = Date.parse(full.status.expirationTimestamp);
    assert.ok(expires >= sent + 3_600_000 && expires <= Date.now() + 3_700_000, "it expires in about 3607 s");
    // What the engine's read schema takes of the same answer: the expiry, not the token.
    const read = await client.request<{ status: Record<string, unknown> }>({
      method: "POST",
      path,
      body,
      proto: TOKEN_REQUEST,
    });
    assert.deepEqual(Object.keys(read.status), ["expirationTimestamp"]);
  });
});
