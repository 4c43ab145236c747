/** metrics-server's files in a cluster's state directory and its command-line flags. */
import { join } from "node:path";
import type { ClusterLayout, ClusterRecord } from "../cluster-state.ts";

/** The user metrics-server is, by its client certificate; the upstream RBAC binds it. */
export const METRICS_SERVER_USER = "system:metrics-server";

/** How often metrics-server scrapes every kubelet's /metrics/resource (its manifests' value). */
export const METRIC_RESOLUTION = "15s";

/** Files of a cluster's metrics-server. */
export interface MetricsServerFiles {
  /** Serving certificate (cluster CA; names the Service the aggregator dials, and 127.0.0.1). */
  readonly servingCert: string;
  readonly servingKey: string;
  /** Client certificate of {@link METRICS_SERVER_USER}. */
  readonly clientCert: string;
  readonly clientKey: string;
  /** Its kubeconfig: the API server, the cluster CA and its client certificate. */
  readonly kubeconfig: string;
  readonly log: string;
}

/** Paths of metrics-server's files in `layout` (whether or not they exist yet). */
export function metricsServerFiles(layout: ClusterLayout): MetricsServerFiles {
  return {
    servingCert: join(layout.pki, "metrics-server-serving.crt"),
    servingKey: join(layout.pki, "metrics-server-serving.key"),
    clientCert: join(layout.pki, "metrics-server.crt"),
    clientKey: join(layout.pki, "metrics-server.key"),
    kubeconfig: join(layout.dir, "metrics-server.kubeconfig"),
    log: join(layout.logs, "metrics-server.log"),
  };
}

/**
 * metrics-server's flags on a local cluster: it serves on its own loopback port, reads Nodes and
 * Pods and delegates authentication and authorization to the API server with its own kubeconfig,
 * and scrapes each node's kubelet where the Node says it is: the Node's daemonEndpoints port
 * (hollow nodes serve each node on a port of its own) at its InternalDNS address (where hollow
 * nodes serve) else its InternalIP (real workers).
 */
export function metricsServerArgs(rec: ClusterRecord, layout: ClusterLayout): string[] {
  const f = metricsServerFiles(layout);
  const port = rec.ports.metricsServer;
  if (port === undefined) throw new Error(`cluster "${rec.name}" has no metrics-server port recorded`);
  return [
    `--secure-port=${port}`,
    "--bind-address=127.0.0.1",
    `--tls-cert-file=${f.servingCert}`,
    `--tls-private-key-file=${f.servingKey}`,
    `--kubeconfig=${f.kubeconfig}`,
    `--authentication-kubeconfig=${f.kubeconfig}`,
    `--authorization-kubeconfig=${f.kubeconfig}`,
    "--kubelet-use-node-status-port",
    "--kubelet-preferred-address-types=InternalDNS,InternalIP",
    // Kubelets' serving certificates are self-signed here (hollow nodes' and real workers' alike:
    // neither is signed by a CA metrics-server could be given), so their chain is not verified;
    // metrics-server still authenticates to them with its client certificate.
    "--kubelet-insecure-tls",
    `--metric-resolution=${METRIC_RESOLUTION}`,
  ];
}
