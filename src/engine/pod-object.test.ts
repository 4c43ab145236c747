// The pod the engine keeps (slimPod) and what it references (ConfigMaps, Secrets, tokens).
import { test } from "node:test";
import assert from "node:assert/strict";
import { referencedObjects, slimPod, tokenRequests, type PodObject } from "./pod-object.ts";
import { RUN_SECONDS_ANNOTATION, renderPodStatus, runDurationMs } from "./pod-status.ts";
import { pod, RUN, FINISHED } from "./testdata/pod-fixtures.ts";

test("referencedObjects finds ConfigMaps and Secrets in volumes, projections, env, envFrom and pull secrets", () => {
  const p = pod({
    volumes: [
      { name: "cfg", configMap: { name: "cm-volume" } },
      { name: "sec", secret: { secretName: "secret-volume" } },
      {
        name: "proj",
        projected: {
          sources: [
            { configMap: { name: "cm-projected" } },
            { secret: { name: "secret-projected" } },
            { serviceAccountToken: { path: "token" } },
          ],
        },
      },
      { name: "empty" },
    ],
    initContainers: [{ name: "init", env: [{ valueFrom: { secretKeyRef: { name: "secret-init-env" } } }] }],
    containers: [
      {
        name: "app",
        env: [
          { valueFrom: { configMapKeyRef: { name: "cm-env" } } },
          {},
          { valueFrom: { configMapKeyRef: { name: "cm-volume" } } },
        ],
        envFrom: [{ configMapRef: { name: "cm-envfrom" } }, { secretRef: { name: "secret-envfrom" } }],
      },
    ],
    imagePullSecrets: [{ name: "regcred" }],
  });
  const { configMaps, secrets } = referencedObjects(p);
  assert.deepEqual([...configMaps].sort(), ["cm-env", "cm-envfrom", "cm-projected", "cm-volume"]);
  assert.deepEqual([...secrets].sort(), [
    "regcred",
    "secret-envfrom",
    "secret-init-env",
    "secret-projected",
    "secret-volume",
  ]);

  const none = referencedObjects(pod());
  assert.deepEqual([none.configMaps.size, none.secrets.size], [0, 0]);
});

test("tokenRequests: one per projected service-account token, default expiry one hour", () => {
  const p = pod({
    volumes: [
      {
        name: "kube-api-access",
        projected: {
          sources: [
            { serviceAccountToken: { path: "token", expirationSeconds: 3607 } },
            { configMap: { name: "kube-root-ca.crt" } },
          ],
        },
      },
      { name: "vault", projected: { sources: [{ serviceAccountToken: { path: "t", audience: "vault" } }] } },
      { name: "cfg", configMap: { name: "x" } },
    ],
  });
  assert.deepEqual(tokenRequests(p), [
    { audience: undefined, expirationSeconds: 3607 },
    { audience: "vault", expirationSeconds: 3600 },
  ]);
  assert.deepEqual(tokenRequests(pod()), []);
});

/** A pod as the API server sends it for a Job's pod once it runs: managed fields, status, volumes. */
function fullPod(): PodObject {
  return {
    metadata: {
      name: "pi-x7k2p",
      namespace: "batch",
      uid: "uid-pi",
      resourceVersion: "4711",
      generation: 2,
      labels: { "batch.kubernetes.io/job-name": "pi", "controller-uid": "uid-job" },
      annotations: { [RUN_SECONDS_ANNOTATION]: "7", "example.com/note": "x".repeat(500) },
      ownerReferences: [
        { kind: "Job", name: "pi", controller: true },
        { kind: "ConfigMap", name: "other" },
      ],
      managedFields: [{ manager: "kube-controller-manager", fieldsV1: { "f:spec": { "f:x": {} } } }],
    } as PodObject["metadata"],
    spec: {
      nodeName: "hollow-node-0",
      restartPolicy: "Never",
      serviceAccountName: "runner",
      initContainers: [
        { name: "setup", image: "busybox", env: [{ valueFrom: { configMapKeyRef: { name: "cfg" } } }] },
        { name: "proxy", image: "envoy", restartPolicy: "Always" },
      ],
      containers: [{ name: "pi", image: "perl:5.34", envFrom: [{ secretRef: { name: "creds" } }] }],
      volumes: [
        { name: "data", configMap: { name: "cfg" } },
        {
          name: "kube-api-access-abcde",
          projected: {
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
              { configMap: { name: "kube-root-ca.crt" } },
            ],
          },
        },
        {
          name: "vault",
          projected: { sources: [{ serviceAccountToken: { audience: "vault", path: "vault-token" } }] },
        },
      ],
      tolerations: [{ key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" }],
    } as PodObject["spec"],
    status: { phase: "Running", podIP: "10.128.0.9", startTime: "2026-01-01T00:00:00Z" },
  };
}

test("slimPod keeps exactly what the engine reads: the same statuses, tokens and run time as the full pod", () => {
  const full = fullPod();
  const slim = slimPod(full);
  for (const stage of ["creating", "initializing", "running", "succeeded", "terminated"] as const) {
    assert.deepEqual(renderPodStatus(slim, stage, FINISHED), renderPodStatus(full, stage, FINISHED), stage);
  }
  assert.deepEqual(tokenRequests(slim), tokenRequests(full));
  assert.equal(tokenRequests(slim).length, 2);
  assert.equal(runDurationMs(slim, 1000), 7000);
  assert.equal(
    runDurationMs(slimPod({ ...full, metadata: { ...full.metadata, annotations: {} } }), 1000),
    1000,
  );
  assert.equal(slim.spec.serviceAccountName, "runner");
  assert.equal(slim.spec.nodeName, "hollow-node-0");
  // What it leaves out: the status, managed fields, other annotations, labels, env, ConfigMap volumes.
  const text = JSON.stringify(slim);
  for (const gone of [
    '"status"',
    '"managedFields"',
    "example.com/note",
    '"labels"',
    '"env"',
    '"envFrom"',
    "kube-root-ca.crt",
    '"tolerations"',
  ])
    assert.ok(!text.includes(gone), `${gone} is left out`);
  assert.ok(
    text.length * 2 < JSON.stringify(full).length,
    `${text.length} vs ${JSON.stringify(full).length} bytes`,
  );
});

test("slimPod: a hostNetwork pod stays one, a pod without tokens or owners has neither", () => {
  const slim = slimPod(pod({ hostNetwork: true }));
  assert.equal(slim.spec.hostNetwork, true);
  assert.equal(slim.spec.volumes, undefined);
  assert.equal(slim.metadata.ownerReferences, undefined);
  assert.equal(runDurationMs(slim, 1000), undefined);
  assert.deepEqual(
    renderPodStatus(slim, "running", RUN),
    renderPodStatus(pod({ hostNetwork: true }), "running", RUN),
  );
});

test("slimPod keeps every kubemark-cluster.io/ annotation (the models' knobs) and drops the rest", () => {
  const full = fullPod();
  const slim = slimPod({
    ...full,
    metadata: {
      ...full.metadata,
      annotations: {
        "kubemark-cluster.io/some-future-knob": "3",
        "kubemark-cluster.io/run-seconds": "7",
        "kubemark-cluster.io.evil/x": "no",
        "example.com/note": "no",
      },
    },
  });
  assert.deepEqual(slim.metadata.annotations, {
    "kubemark-cluster.io/some-future-knob": "3",
    "kubemark-cluster.io/run-seconds": "7",
  });
});
