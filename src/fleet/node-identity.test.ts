import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KubemarkError } from "../kernel/errors.ts";
import {
  bootstrapSecret,
  chooseIdentity,
  fleetIdentityObjects,
  nodeIdentityClusterRole,
  podNodeIdentity,
} from "./node-identity.ts";
import type { FleetSpec } from "./spec.ts";
import { inClusterSpec } from "./testdata/fleet-spec.ts";
import { statefulSet } from "./workload-objects.ts";

const recorded = (identity: FleetSpec["identity"]): FleetSpec =>
  ({ namespace: "kubemark", identity }) as unknown as FleetSpec;
type Req = Parameters<typeof chooseIdentity>[0];
const base: Req = {
  requested: undefined,
  recorded: undefined,
  engine: "hollow-node",
  traffic: "kubelet",
  nodeAuthorizer: true,
  server: "https://127.0.0.1:6443",
  cleanup: "kubemark-cluster cleanup",
};

describe("--identity: which one a fleet gets", () => {
  const cases: {
    name: string;
    req: Partial<Req>;
    identity: string;
    why?: RegExp;
  }[] = [
    {
      name: "default, Node authorizer: node",
      req: {},
      identity: "node",
      why: /runs the Node authorizer.*--identity shared/,
    },
    {
      name: "default, no Node authorizer: shared, saying why",
      req: { nodeAuthorizer: false },
      identity: "shared",
      why: /^identity: shared \(the API server runs no Node authorizer\)/,
    },
    {
      name: "default, cannot ask: shared, saying how to ask",
      req: { nodeAuthorizer: undefined },
      identity: "shared",
      why: /could not be asked.*--identity node/,
    },
    {
      name: "explicit node, Node authorizer",
      req: { requested: "node" },
      identity: "node",
      why: /--identity node/,
    },
    { name: "explicit shared", req: { requested: "shared" }, identity: "shared", why: /--identity shared/ },
    {
      name: "explicit node, cannot ask",
      req: { requested: "node", nodeAuthorizer: undefined },
      identity: "node",
      why: /could not be asked/,
    },
    {
      name: "recorded node kept",
      req: { recorded: recorded("node"), nodeAuthorizer: false },
      identity: "node",
    },
    {
      name: "recorded before --identity: shared",
      req: { recorded: recorded(undefined) },
      identity: "shared",
    },
    { name: "kubemark: shared", req: { engine: "kubemark" }, identity: "shared" },
    { name: "minimal traffic: shared", req: { traffic: "minimal" }, identity: "shared" },
  ];
  for (const c of cases)
    it(c.name, () => {
      const got = chooseIdentity({ ...base, ...c.req });
      assert.equal(got.identity, c.identity);
      if (c.why) assert.match(got.why ?? "", c.why);
      else assert.equal(got.why, undefined);
    });

  const errors: { name: string; req: Partial<Req>; message: RegExp; hint: RegExp }[] = [
    {
      name: "node without the Node authorizer",
      req: { requested: "node", nodeAuthorizer: false },
      message: /API server at https:\/\/127.0.0.1:6443 runs no Node authorizer/,
      hint: /--authorization-mode=Node,RBAC.*--identity shared/,
    },
    {
      name: "switching a recorded fleet",
      req: { requested: "shared", recorded: recorded("node") },
      message: /runs with --identity node; it cannot be switched to shared/,
      hint: /kubemark-cluster cleanup/,
    },
    {
      name: "node with kubemark",
      req: { requested: "node", engine: "kubemark" },
      message: /for the hollow-node engine/,
      hint: /--engine hollow-node/,
    },
    {
      name: "node with minimal traffic",
      req: { requested: "node", traffic: "minimal" },
      message: /needs --traffic kubelet/,
      hint: /--identity shared/,
    },
  ];
  for (const e of errors)
    it(`refuses: ${e.name}`, () => {
      assert.throws(
        () => chooseIdentity({ ...base, ...e.req }),
        (err: unknown) =>
          err instanceof KubemarkError && e.message.test(err.message) && e.hint.test(err.hint ?? ""),
      );
    });
});

describe("the fleet ServiceAccount's RBAC under --identity node", () => {
  const rules = (o: { [k: string]: unknown }): string[] =>
    (o.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[]).map(
      (r) => `${r.apiGroups[0] || "core"}/${r.resources.join(",")}: ${r.verbs.join(",")}`,
    );
  it("keeps only the hollow proxy's requests (and the CSI controller's with a driver)", () => {
    assert.deepEqual(rules(nodeIdentityClusterRole({ fleet: "f", proxy: true, storage: undefined })), [
      "core/nodes: list,watch",
      "core/services: list,watch",
      "discovery.k8s.io/endpointslices: list,watch",
      "networking.k8s.io/servicecidrs: list,watch",
      "events.k8s.io/events: create,patch,update",
    ]);
    assert.deepEqual(rules(nodeIdentityClusterRole({ fleet: "f", proxy: false, storage: undefined })), []);
    const withDriver = rules(
      nodeIdentityClusterRole({ fleet: "f", proxy: false, storage: { driver: "d", attachRequired: true } }),
    );
    assert.ok(withDriver.includes("core/persistentvolumes: get,list,watch,create,patch,delete"));
    assert.ok(!withDriver.some((r) => r.startsWith("core/pods") || r.startsWith("core/secrets")));
  });
  it("drops the kube-node-lease Role and grants no Secrets, pods, Leases or Nodes writes", () => {
    const spec = { namespace: "kubemark", fleet: "f", storage: undefined, proxy: true };
    const shared = fleetIdentityObjects({ ...spec, identity: "shared" }, true);
    const node = fleetIdentityObjects({ ...spec, identity: "node" }, true);
    assert.ok(shared.some((o) => o.metadata.namespace === "kube-node-lease"));
    assert.ok(!node.some((o) => o.metadata.namespace === "kube-node-lease"));
    assert.deepEqual(
      node.map((o) => o.kind),
      shared.filter((o) => o.metadata.namespace !== "kube-node-lease").map((o) => o.kind),
    );
    const role = node.find((o) => o.kind === "ClusterRole")!;
    assert.ok(
      !rules(role).some((r) => /pods|secrets|leases|configmaps/.test(r) || /nodes: .*create/.test(r)),
    );
  });
  it("in-cluster pods mount the bootstrap credential files read-only, 0440, and keep certificates in memory", () => {
    const p = podNodeIdentity({ identity: "node" }, "/hollow");
    // Files, not a kubeconfig: the bundle a pod runs cannot load kubeconfigs (its pods crashed
    // with ERR_MODULE_NOT_FOUND @kubernetes/client-node on a real worker). The directory is named
    // relative to the working directory, as the pod's other paths.
    assert.deepEqual(p.args, ["--identity=node", "--bootstrap-credentials-dir=bootstrap"]);
    assert.deepEqual(p.mounts, [{ name: "bootstrap", mountPath: "/hollow/bootstrap", readOnly: true }]);
    assert.ok(!p.args.some((a) => a.includes("kubeconfig")));
    const secret = bootstrapSecret(
      { namespace: "ns", fleet: "f" },
      { server: "https://10.96.0.1:443", caCrt: "CA", token: "abc.def" },
    );
    assert.deepEqual(Object.keys(secret["stringData"] as object).sort(), ["ca.crt", "server", "token"]);
    assert.equal(JSON.stringify(p.volumes).includes('"mode":288'), true);
    assert.equal(p.fsGroup, 1000);
    assert.deepEqual(podNodeIdentity({ identity: "shared" }, "/hollow").args, []);
    assert.deepEqual(podNodeIdentity({}, "/hollow").volumes, []);
  });
});

describe("--identity node in the pod template", () => {
  it("every path the engine is given is relative to the working directory and mounted there", () => {
    // The e2e test runs the template's container in a temporary directory standing for its
    // filesystem, as the other pod paths allow (--credentials-dir=sa); an absolute
    // --bootstrap-credentials-dir=/hollow/bootstrap read this machine's /hollow instead.
    const spec: FleetSpec = { ...inClusterSpec, nodes: 10, nodesPerShard: 10, identity: "node" };
    const sts = statefulSet(spec, { engineHash: "abc" }) as unknown as {
      spec: {
        template: {
          spec: {
            containers: { workingDir: string; args: string[]; volumeMounts: { mountPath: string }[] }[];
          };
        };
      };
    };
    const c = sts.spec.template.spec.containers[0]!;
    const dirs = c.args.flatMap((a) => /^--(?:bootstrap-)?credentials-dir=(.*)$/.exec(a)?.[1] ?? []);
    assert.deepEqual(dirs, ["sa", "bootstrap"]);
    for (const d of dirs) {
      assert.ok(!d.startsWith("/"), `${d} is relative to the working directory`);
      assert.ok(
        c.volumeMounts.some((m) => m.mountPath === `${c.workingDir}/${d}`),
        `${d} is a mount under ${c.workingDir}`,
      );
    }
  });
});
