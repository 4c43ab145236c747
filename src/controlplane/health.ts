/**
 * Health of a local control plane's components: each one's probe (the API server's /readyz, etcd's
 * /health with the API server's client certificate, the scheduler's and controller-manager's
 * /healthz) and the status `up` and `status` report.
 */
import { Agent, request } from "undici";
import type { KubeClient } from "../client/kube-client.ts";
import { describeError } from "../kernel/errors.ts";
import { isDaemonAlive } from "../host/daemon.ts";
import { adminClient } from "./admin-client.ts";
import type { ComponentStatus } from "./cluster-info.ts";
import {
  COMPONENTS,
  type ClusterLayout,
  type ClusterPorts,
  type ClusterRecord,
  type Component,
} from "./cluster-state.ts";
import { etcdClientAgent } from "./etcd-tls.ts";

/** Clients of the health probes: the admin's for the API server, the API server's own for etcd. */
export interface ProbeClients {
  readonly admin: KubeClient | undefined;
  /** etcd answers only clients with a certificate of its CA (undefined: the files are missing). */
  readonly etcd: Agent | undefined;
  /** For the scheduler's and controller-manager's self-signed endpoints; made on first use. */
  insecure(): Agent;
  close(): Promise<void>;
}

/** Opens the probes' clients; `required`: fail when their certificates cannot be read. */
export async function openProbeClients(
  layout: ClusterLayout,
  rec: ClusterRecord,
  opts: { required?: boolean } = {},
): Promise<ProbeClients> {
  const optional = <T>(p: Promise<T>): Promise<T | undefined> =>
    opts.required ? p : p.catch(() => undefined);
  const admin = await optional(adminClient(layout, rec));
  const etcd = await optional(etcdClientAgent(layout.pki)).catch(async (err: unknown) => {
    await admin?.close();
    throw err;
  });
  let insecure: Agent | undefined;
  return {
    admin,
    etcd,
    insecure: () => (insecure ??= new Agent({ connect: { rejectUnauthorized: false }, connections: 4 })),
    close: async () => {
      await admin?.close();
      await etcd?.close();
      await insecure?.close();
    },
  };
}

/** Probes a component's health endpoint. */
export async function probe(
  component: Component,
  rec: ClusterRecord,
  clients: ProbeClients,
): Promise<string> {
  const p = rec.ports;
  const timeouts = { headersTimeout: 3_000, bodyTimeout: 3_000 };
  if (component === "kube-apiserver") {
    if (!clients.admin) return "no client";
    return (await clients.admin.getText("/readyz")).trim();
  }
  if (component === "etcd") {
    if (!clients.etcd) return "no etcd client certificate";
    const res = await request(`https://127.0.0.1:${p.etcdClient}/health`, {
      dispatcher: clients.etcd,
      ...timeouts,
    });
    const text = (await res.body.text()).trim();
    return /"health":\s*"true"/.test(text) ? "ok" : text;
  }
  const url = `https://127.0.0.1:${component === "kube-scheduler" ? p.scheduler : p.controllerManager}/healthz`;
  const res = await request(url, { dispatcher: clients.insecure(), ...timeouts });
  const text = (await res.body.text()).trim();
  return res.statusCode === 200 ? text : `${res.statusCode} ${text}`;
}

/** The port a component serves its health endpoint on. */
export function portOf(component: Component, p: ClusterPorts): number {
  switch (component) {
    case "etcd":
      return p.etcdClient;
    case "kube-apiserver":
      return p.apiserver;
    case "kube-controller-manager":
      return p.controllerManager;
    case "kube-scheduler":
      return p.scheduler;
  }
}

/** Every port a component listens on. */
export function portsOf(component: Component, p: ClusterPorts): number[] {
  return component === "etcd" ? [p.etcdClient, p.etcdPeer] : [portOf(component, p)];
}

/** Status of each component of a recorded cluster. */
export async function componentStatuses(
  layout: ClusterLayout,
  rec: ClusterRecord,
): Promise<ComponentStatus[]> {
  const clients = await openProbeClients(layout, rec);
  try {
    return await Promise.all(
      COMPONENTS.map(async (c): Promise<ComponentStatus> => {
        const d = rec.processes[c];
        const running = d !== undefined && isDaemonAlive(d);
        let detail = running ? "" : "not running";
        let healthy = false;
        if (running) {
          try {
            detail = await probe(c, rec, clients);
            healthy = detail === "ok";
          } catch (err) {
            detail = describeError(err);
          }
        }
        return {
          component: c,
          pid: running ? d.pid : null,
          port: portOf(c, rec.ports),
          running,
          healthy,
          detail,
        };
      }),
    );
  } finally {
    await clients.close();
  }
}
