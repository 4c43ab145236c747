/** Runs `./hollow-node` as a real process for tests and benchmarks. */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import type { KubeClient } from "../src/client/kube-client.ts";
import { FLEET_LABEL } from "../src/kernel/k8s.ts";
import { ROOT, eventually, testCluster } from "./harness.ts";

/** A running hollow-node process. */
export interface EngineProcess {
  readonly child: ChildProcess;
  /** Everything it wrote to stderr so far (structured logs). */
  logs(): string;
  /** Sends a signal and waits for the exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the exit code once it has exited. */
  exited: Promise<number | null>;
}

/** Starts `./hollow-node` with the given flags. */
export function startEngine(args: readonly string[], env: NodeJS.ProcessEnv = process.env): EngineProcess {
  const child = spawn(join(ROOT, "hollow-node"), args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (b: Buffer) => (out += b.toString()));
  child.stderr.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    logs: () => out,
    exited,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Who a test's engine is: its nodes, their names and fleet, and the cluster they join. */
export interface FleetEngineOptions {
  /** The kubeconfig of the cluster the nodes join (default: the test cluster's, test/harness.ts). */
  readonly kubeconfig?: string;
  /** How many nodes. */
  readonly nodes: number;
  /** The fleet label of its Nodes. */
  readonly fleet: string;
  /** Its Nodes are <namePrefix>-<i> (default: the fleet's name). */
  readonly namePrefix?: string;
}

/**
 * Starts `./hollow-node` with the flags every test's engine takes (kubeconfig, node count, name
 * prefix, fleet; no periodic stats line) and then `extra`.
 */
export function startFleetEngine(
  o: FleetEngineOptions,
  extra: readonly string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): EngineProcess {
  return startEngine(
    [
      "--kubeconfig",
      o.kubeconfig ?? testCluster().kubeconfig,
      "--nodes",
      String(o.nodes),
      "--name-prefix",
      o.namePrefix ?? o.fleet,
      "--fleet",
      o.fleet,
      "--stats-interval",
      "0",
      ...extra,
    ],
    env,
  );
}

/** After a test: deletes its namespace and its fleet's Nodes (best effort), and closes the client. */
export async function removeTestObjects(client: KubeClient, namespace: string, fleet: string): Promise<void> {
  await client.request({ method: "DELETE", path: `/api/v1/namespaces/${namespace}` }).catch(() => undefined);
  await client
    .request({
      method: "DELETE",
      path: "/api/v1/nodes",
      query: { labelSelector: `kubemark-cluster.io/fleet=${fleet}` },
    })
    .catch(() => undefined);
  await client.close();
}

/** Waits (up to 90 s) until `count` Nodes of `fleet` are Ready. */
export async function fleetNodesReady(client: KubeClient, fleet: string, count: number): Promise<void> {
  await eventually(`${count} nodes Ready`, 90_000, async () => {
    const nodes = await client.get<{
      items: { status?: { conditions?: { type: string; status: string }[] } }[];
    }>("/api/v1/nodes", { labelSelector: `${FLEET_LABEL}=${fleet}` });
    const ready = nodes.items.filter((n) =>
      n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
    ).length;
    return { done: ready === count, status: `${ready}/${count} Ready` };
  });
}

/** Waits for a namespace's default ServiceAccount: pods cannot be created in it before. */
export async function defaultServiceAccount(client: KubeClient, namespace: string): Promise<void> {
  await eventually("the namespace's default ServiceAccount", 30_000, async () => {
    await client.get(`/api/v1/namespaces/${namespace}/serviceaccounts/default`);
    return { done: true, status: "ok" };
  });
}
