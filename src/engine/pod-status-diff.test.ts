import { test } from "node:test";
import assert from "node:assert/strict";
import {
  compareStatuses,
  describeDifference,
  normaliseStatus,
  statusDifferences,
} from "./pod-status-diff.ts";

const real = {
  phase: "Running",
  hostIP: "10.254.0.2",
  hostIPs: [{ ip: "10.254.0.2" }],
  podIP: "10.128.0.2",
  startTime: "2026-11-30T23:59:31Z",
  conditions: [
    { type: "Initialized", status: "True", lastProbeTime: null, lastTransitionTime: "2026-11-30T23:59:33Z" },
    { type: "Ready", status: "True", lastProbeTime: null, lastTransitionTime: "2026-11-30T23:59:35Z" },
  ],
  containerStatuses: [
    {
      name: "app",
      containerID: "containerd://ca3d3323b5fdc4eeddc5ff41a5265ba1ca8a0ab834635e64a598e836dfa73fd3",
      imageID: `sha256:${"8".repeat(64)}`,
      state: { running: { startedAt: "2026-11-30T23:59:33Z" } },
      volumeMounts: [
        { name: "kube-api-access-jnrpd", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount" },
      ],
    },
  ],
};

test("normalising replaces times, addresses, container ids, digests, uids and volume suffixes by their shape", () => {
  assert.deepEqual(
    normaliseStatus({
      startTime: "2026-11-30T23:59:31Z",
      podIPs: [{ ip: "10.1.2.3" }],
      containerID: "hollow://abc",
      imageID: `docker.io/library/node@sha256:${"a".repeat(64)}`,
      message: "back-off 10s restarting failed container=c pod=p_ns(0b8f4f7e-1d2c-4c8e-9a51-3f0c7a1b2c3d)",
      lastProbeTime: null,
      name: "kube-api-access-x7k2p",
    }),
    {
      startTime: "<time>",
      podIPs: [{ ip: "<ip>" }],
      containerID: "<runtime>://<id>",
      imageID: "docker.io/library/node@<digest>",
      message: "back-off 10s restarting failed container=c pod=p_ns(<uid>)",
      lastProbeTime: null,
      name: "kube-api-access-<id>",
    },
  );
});

test("two runs of the same status differ in nothing once normalised", () => {
  const hollow = structuredClone(real);
  hollow.hostIP = "100.64.0.1";
  hollow.hostIPs = [{ ip: "100.64.0.1" }];
  hollow.containerStatuses[0]!.containerID = "hollow://2afe31eae55bafd6";
  hollow.containerStatuses[0]!.volumeMounts[0]!.name = "kube-api-access-lbx9x";
  hollow.conditions[1]!.lastTransitionTime = "2026-11-30T23:59:40Z";
  assert.deepEqual(statusDifferences(real, hollow), []);
});

test("differences are paths: fields missing, extra, of another value, and lists in another order", () => {
  const hollow = structuredClone(real) as Record<string, unknown> & typeof real;
  (hollow.conditions[0] as Record<string, unknown>)["reason"] = "ContainersNotInitialized";
  hollow.conditions.reverse();
  (hollow.containerStatuses[0] as Record<string, unknown>)["imageID"] = "docker.io/library/node:24-slim";
  hollow["qosClass"] = "Burstable";
  delete (hollow as Record<string, unknown>)["podIP"];
  assert.deepEqual(statusDifferences(real, hollow).map(describeDifference), [
    '.podIP: "<ip>" | (absent)',
    '.conditions[type=Initialized].reason: (absent) | "ContainersNotInitialized"',
    '.conditions(order): ["type=Initialized","type=Ready"] | ["type=Ready","type=Initialized"]',
    '.containerStatuses[name=app].imageID: "<digest>" | "docker.io/library/node:24-slim"',
    '.qosClass: (absent) | "Burstable"',
  ]);
});

test("the allow-list explains differences by design, with the reason; the rest stay unexplained", () => {
  const hollow = structuredClone(real) as Record<string, unknown> & typeof real;
  (hollow.containerStatuses[0] as Record<string, unknown>)["imageID"] = "docker.io/library/node:24-slim";
  hollow["extra"] = 1;
  const out = compareStatuses(real, hollow, [{ path: /\.imageID$/, reason: "no image store" }]);
  assert.deepEqual(
    out.allowed.map((d) => `${d.path} (${d.reason})`),
    [".containerStatuses[name=app].imageID (no image store)"],
  );
  assert.deepEqual(
    out.unexplained.map((d) => d.path),
    [".extra"],
  );
});
