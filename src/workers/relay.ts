/**
 * The workers' API server relay. The local control plane listens on loopback only, and there is
 * no kube-proxy, so a pod on a real worker could not reach the `kubernetes` Service. This process
 * plays kube-proxy for that one Service, as a TCP relay (TLS passes through untouched):
 *
 * - `<service IP>:443` → this cluster's API server (the address in-cluster clients use);
 * - `<service IP>:<port>` → `127.0.0.1:<port>` for the API server port of every local cluster on
 *   this machine, so hollow-node pods in one local cluster can register into another (the
 *   two-cluster topology). Every local API server certificate names the service IP.
 *
 * It accepts connections only from the workers' pod and node networks. Run as
 * `node relay.ts --state-dir DIR --cluster NAME --listen IP --allow CIDR,...`.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";

/** Parses `a.b.c.d/n` into a predicate over dotted IPv4 addresses. */
export function cidrMatcher(cidrs: readonly string[]): (ip: string) => boolean {
  const toInt = (ip: string): number =>
    ip.split(".").reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0) >>> 0;
  const nets = cidrs.map((c) => {
    const [base, bits] = c.split("/");
    const n = Number(bits ?? 32);
    const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
    return { net: toInt(base!) & mask, mask };
  });
  return (ip) => {
    const v4 = ip.startsWith("::ffff:") ? ip.slice(7) : ip;
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(v4)) return false;
    const x = toInt(v4);
    return nets.some((n) => (x & n.mask) >>> 0 === n.net);
  };
}

/** API server ports of the local clusters recorded under `stateDir`, by cluster name. */
export async function localApiServerPorts(stateDir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let names: string[];
  try {
    names = await readdir(join(stateDir, "clusters"));
  } catch {
    return out;
  }
  for (const n of names) {
    try {
      const rec = JSON.parse(await readFile(join(stateDir, "clusters", n, "cluster.json"), "utf8")) as {
        ports?: { apiserver?: number };
      };
      if (rec.ports?.apiserver) out.set(n, rec.ports.apiserver);
    } catch {
      // not a cluster (or being written): looked at again on the next scan
    }
  }
  return out;
}

function pipe(client: Socket, port: number): void {
  const upstream = connect({ host: "127.0.0.1", port });
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  const close = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on("error", close);
  upstream.on("error", close);
  client.on("close", close);
  upstream.on("close", close);
  client.pipe(upstream);
  upstream.pipe(client);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "state-dir": { type: "string" },
      cluster: { type: "string" },
      listen: { type: "string" },
      allow: { type: "string" },
    },
  });
  const stateDir = values["state-dir"];
  const cluster = values.cluster;
  const listenIp = values.listen;
  if (!stateDir || !cluster || !listenIp || !values.allow) {
    process.stderr.write("usage: relay --state-dir DIR --cluster NAME --listen IP --allow CIDR,...\n");
    process.exit(2);
  }
  const allowed = cidrMatcher(values.allow.split(","));
  const servers = new Map<number, Server>();
  const targets = new Map<number, number>();
  const listen = (listenPort: number): Promise<void> =>
    new Promise((resolve) => {
      const srv = createServer((sock) => {
        if (!allowed(sock.remoteAddress ?? "")) {
          sock.destroy();
          return;
        }
        const to = targets.get(listenPort);
        if (to === undefined) sock.destroy();
        else pipe(sock, to);
      });
      srv.on("error", (err) => {
        process.stderr.write(`relay: cannot listen on ${listenIp}:${listenPort}: ${err.message}\n`);
        servers.delete(listenPort);
        resolve();
      });
      srv.listen({ host: listenIp, port: listenPort }, () => {
        process.stdout.write(`relay: ${listenIp}:${listenPort} -> 127.0.0.1:${targets.get(listenPort)}\n`);
        resolve();
      });
      servers.set(listenPort, srv);
    });
  const scan = async (): Promise<void> => {
    const ports = await localApiServerPorts(stateDir);
    const own = ports.get(cluster);
    const wanted = new Map<number, number>();
    if (own !== undefined) wanted.set(443, own);
    for (const p of ports.values()) wanted.set(p, p);
    for (const [lp, to] of wanted) {
      targets.set(lp, to);
      if (!servers.has(lp)) await listen(lp);
    }
    for (const [lp, srv] of servers) {
      if (!wanted.has(lp)) {
        srv.close();
        servers.delete(lp);
        targets.delete(lp);
      }
    }
  };
  await scan();
  const timer = setInterval(() => void scan(), 2_000);
  const stop = (): void => {
    clearInterval(timer);
    for (const s of servers.values()) s.close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
