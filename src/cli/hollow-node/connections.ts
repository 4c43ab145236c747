import { BadInputError } from "../../kernel/errors.ts";

/*
 * `--connections`: whether each node talks to the API server over connections of its own, as a
 * fleet of real kubelets and kube-proxies does, or all nodes share the process's pools.
 */

/**
 * `per-node`: each node's kubelet requests, heartbeats and watches go over one HTTP/2
 * connection of its own (multiplexed, as client-go's transport), and its hollow proxy's over
 * another, as kubemark's hollow nodes (one
 * process each) and real kubelets hold them. `pooled`: the process's shared pools (a few dozen
 * connections for thousands of nodes), for machines that cannot afford a connection per node.
 */
export type ConnectionMode = "per-node" | "pooled";

/** The identities `hollow-node --identity` takes. */
export type IdentityKind = "shared" | "node";

/**
 * The connection mode from `--connections` (undefined: not given) and `--identity`: by default
 * per-node with node identities (each certificate needs its own connection) and pooled with the
 * shared one (as before the flag). Pooled with node identities is refused: a TLS connection
 * presents one client certificate, so nodes with their own identities cannot share a connection,
 * and a run asking for pooled would silently cost what per-node costs.
 */
export function connectionMode(connections: string | undefined, identity: IdentityKind): ConnectionMode {
  if (connections === undefined) return identity === "node" ? "per-node" : "pooled";
  const mode = connections.trim();
  if (mode !== "per-node" && mode !== "pooled") {
    throw new BadInputError(`--connections must be per-node or pooled, got "${connections}"`);
  }
  if (mode === "pooled" && identity === "node") {
    throw new BadInputError(
      "--connections pooled needs --identity shared: with --identity node each node presents its own client certificate, and a connection carries only one",
      "give --identity shared --connections pooled to share connections, or --connections per-node (the default with --identity node)",
    );
  }
  return mode;
}
