import { test } from "node:test";
import assert from "node:assert/strict";
import { COMPONENTS, type Component } from "./cluster-state.ts";
import { restartPlan, type ObservedComponent } from "./restart-plan.ts";

type Seen = "ok" | "dead" | "sick";

function observe(seen: Record<Component, Seen>): ObservedComponent[] {
  return COMPONENTS.map((component) => ({
    component,
    running: seen[component] !== "dead",
    healthy: seen[component] === "ok",
    detail: { ok: "ok", dead: "not running", sick: "[-]etcd failed" }[seen[component]],
  }));
}

/** The plan as one word per component: keep, start or recheck. */
function actions(plan: ReturnType<typeof restartPlan>): string[] {
  return COMPONENTS.map((c) => plan[c].action);
}

test("restartPlan restarts only what is down, in start order", () => {
  const table: { seen: Record<Component, Seen>; want: string[]; why: string }[] = [
    {
      why: "a killed scheduler alone",
      seen: { etcd: "ok", "kube-apiserver": "ok", "kube-controller-manager": "ok", "kube-scheduler": "dead" },
      want: ["keep", "keep", "keep", "start"],
    },
    {
      why: "etcd killed: the API server, unready without it, is rechecked once etcd is back",
      seen: {
        etcd: "dead",
        "kube-apiserver": "sick",
        "kube-controller-manager": "ok",
        "kube-scheduler": "ok",
      },
      want: ["start", "recheck", "keep", "keep"],
    },
    {
      why: "an unhealthy API server over a healthy etcd is restarted at once",
      seen: { etcd: "ok", "kube-apiserver": "sick", "kube-controller-manager": "ok", "kube-scheduler": "ok" },
      want: ["keep", "start", "keep", "keep"],
    },
    {
      why: "etcd and the API server both killed",
      seen: {
        etcd: "dead",
        "kube-apiserver": "dead",
        "kube-controller-manager": "ok",
        "kube-scheduler": "ok",
      },
      want: ["start", "start", "keep", "keep"],
    },
    {
      why: "everything down (after a reboot)",
      seen: {
        etcd: "dead",
        "kube-apiserver": "dead",
        "kube-controller-manager": "dead",
        "kube-scheduler": "dead",
      },
      want: ["start", "start", "start", "start"],
    },
  ];
  for (const row of table) {
    assert.deepEqual(actions(restartPlan(observe(row.seen))), row.want, row.why);
  }
});

test("restartPlan gives the reason, and restarts a healthy component whose flags changed", () => {
  const seen = observe({
    etcd: "ok",
    "kube-apiserver": "ok",
    "kube-controller-manager": "ok",
    "kube-scheduler": "dead",
  });
  const plan = restartPlan(seen, new Map([["kube-apiserver", "its flags changed (--audit)"]]));
  assert.deepEqual(plan["kube-apiserver"], { action: "start", reason: "its flags changed (--audit)" });
  assert.deepEqual(plan["kube-scheduler"], { action: "start", reason: "not running" });
  assert.deepEqual(plan.etcd, { action: "keep" });
  // Downstream of a restarted API server, an unhealthy controller-manager is given time first.
  const sick = observe({
    etcd: "ok",
    "kube-apiserver": "dead",
    "kube-controller-manager": "sick",
    "kube-scheduler": "ok",
  });
  assert.deepEqual(restartPlan(sick)["kube-controller-manager"], {
    action: "recheck",
    reason: "unhealthy: [-]etcd failed",
  });
});
