/**
 * Node identities in the two-cluster topology (the workload in one cluster, the Nodes in another):
 * the Node authorizer is asked of the target, the bootstrap token and kubeadm's bindings are made
 * in the target, and no secret is reported.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { KubeClient, KubeRequest } from "../../client/kube-client.ts";
import { FakeClock } from "../../kernel/clock.ts";
import type { Endpoint } from "../endpoints.ts";
import type { FleetEvent } from "../events.ts";
import type { TargetCredentials } from "../objects.ts";
import type { Session } from "../session.ts";
import type { FleetSpec } from "../spec.ts";
import { FakeRuntime, FakeStore } from "../testdata/fake-fleet.ts";
import { createFleet } from "./create.ts";

/** A fake runtime whose units register into the target and that keeps the bootstrap credential it was given. */
class TargetRuntime extends FakeRuntime {
  bootstrap: TargetCredentials | undefined;
  override apply(
    spec: FleetSpec,
    prev: FleetSpec | undefined,
    _credentials?: TargetCredentials,
    bootstrap?: TargetCredentials,
  ): Promise<void> {
    this.bootstrap = bootstrap;
    return super.apply(spec, prev);
  }
}

/** `store`'s client, answering the Node authorizer probe (a SubjectAccessReview) with `allowed`. */
function withNodeAuthorizer(store: FakeStore, allowed: boolean): KubeClient {
  const base = store.client();
  const request = <T>(req: KubeRequest): Promise<T> =>
    req.path.endsWith("/subjectaccessreviews") && !req.path.endsWith("/selfsubjectaccessreviews")
      ? Promise.resolve({ status: { allowed } } as T)
      : base.request<T>(req);
  return Object.assign(Object.create(base) as KubeClient, { request });
}

function endpoint(server: string, client: KubeClient): Endpoint {
  return {
    access: {
      server,
      insecureSkipTLSVerify: false,
      authorization: () => Promise.resolve(undefined),
      source: "test",
    },
    client,
    kubeconfig: "/tmp/test.kubeconfig",
    localCluster: undefined,
    localWorkers: 0,
    version: "v1.36.3",
  };
}

test("two clusters: node identities by the target's Node authorizer, the bootstrap token made in the target, no secret reported", async () => {
  const hostingStore = new FakeStore();
  const targetStore = new FakeStore();
  const clock = new FakeClock();
  const events: FleetEvent[] = [];
  const runtime = new TargetRuntime("in-cluster", targetStore, clock);
  const session: Session = {
    deps: {
      env: {},
      stateDir: "/nonexistent",
      clock,
      onEvent: (e) => events.push(e),
      signal: new AbortController().signal,
    },
    // The hosting cluster runs no Node authorizer, the target does: the target's answer counts.
    hosting: endpoint("https://hosting.example:6443", withNodeAuthorizer(hostingStore, false)),
    target: endpoint("https://target.example:6443", withNodeAuthorizer(targetStore, true)),
    namespace: "kubemark",
    twoCluster: true,
    fleet: "kubemark",
    suggest: (verbAndArgs) => `kubemark-cluster ${verbAndArgs}`,
    targetIdentity: () => Promise.resolve({}),
    runtime: () => runtime,
    close: () => Promise.resolve(),
  };
  const r = await createFleet(session, {
    verb: "create",
    nodes: 3,
    mode: "in-cluster",
    wait: true,
    timeoutMs: 60_000,
    stallMs: 30_000,
  });
  assert.equal(r.spec.identity, "node");
  assert.equal(r.ready, 3);
  assert.ok(
    hostingStore.requests.every((q) => !q.endsWith("/subjectaccessreviews")),
    "the hosting cluster is not asked",
  );

  const paths = (s: FakeStore): string[] => [...s.objects.keys()];
  const tokenSecrets = (s: FakeStore): string[] =>
    paths(s).filter((p) => p.startsWith("/api/v1/namespaces/kube-system/secrets/bootstrap-token-"));
  const bindings = (s: FakeStore): string[] =>
    paths(s).filter((p) => p.startsWith("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/"));
  assert.equal(tokenSecrets(targetStore).length, 1, paths(targetStore).join("\n"));
  assert.deepEqual(tokenSecrets(hostingStore), [], "no bootstrap token in the hosting cluster");
  assert.ok(
    bindings(targetStore).some((p) => p.endsWith("/kubemark-cluster:kubelet-bootstrap")),
    bindings(targetStore).join("\n"),
  );
  assert.ok(!bindings(hostingStore).some((p) => p.includes("kubelet-bootstrap")));

  // The engines get the token with the target's address; the token is in no event.
  const boot = runtime.bootstrap;
  assert.ok(boot, "the runtime is given the bootstrap credential");
  assert.equal(boot.server, "https://target.example:6443");
  assert.match(boot.token, /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  const said = JSON.stringify(events);
  assert.ok(!said.includes(boot.token.split(".")[1]!), "the token's secret is never reported");
  assert.match(said, /identity: node \(the API server runs the Node authorizer\)/);
});
