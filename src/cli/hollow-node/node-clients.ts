import type { KubeClient } from "../../client/kube-client.ts";

/**
 * One client per node, made on first use (`--connections per-node`): each opens its own
 * connections, so the API server holds one set per node as it would for a fleet of kubelets.
 */
export class NodeClients {
  private readonly clients = new Map<string, KubeClient>();
  private readonly make: (name: string) => KubeClient;

  constructor(make: (name: string) => KubeClient) {
    this.make = make;
  }

  /** Node `name`'s client. */
  client(name: string): KubeClient {
    let c = this.clients.get(name);
    if (!c) this.clients.set(name, (c = this.make(name)));
    return c;
  }

  /** Closes every node's connections. */
  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.close()));
    this.clients.clear();
  }
}
