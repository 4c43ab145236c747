/**
 * The engine's established TCP connections to the API server, counted as `ss -tnp` shows them: the
 * connection cost of `--connections per-node` against `pooled`.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

/**
 * Connections of process `pid` to port `port` in the text of `ss -Htnp state established`
 * (columns Recv-Q, Send-Q, local, peer, process; the process column reads
 * `users:(("node",pid=123,fd=20))`).
 */
export function countEstablished(ssText: string, pid: number, port: number): number {
  let n = 0;
  for (const line of ssText.split("\n")) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5) continue;
    if (!cols[3]!.endsWith(`:${port}`)) continue;
    if (cols.slice(4).join(" ").includes(`pid=${pid},`)) n++;
  }
  return n;
}

/** How many connections process `pid` holds to the API server at `server` (its URL) now. */
export async function engineConnections(pid: number, server: string): Promise<number> {
  const url = new URL(server);
  const port = Number(url.port || 443);
  const { stdout } = await promisify(execFile)("ss", ["-Htnp", "state", "established"], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return countEstablished(stdout, pid, port);
}
