import { createServer } from "node:net";

/** True when nothing listens on `127.0.0.1:port` (we could bind it just now). */
export function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * Picks `count` distinct free loopback ports, preferring `preferred` ones when they are free. Ports
 * in `avoid` (already promised to other local clusters) are skipped.
 */
export async function pickFreePorts(
  count: number,
  opts: { preferred?: readonly number[]; avoid?: ReadonlySet<number> } = {},
): Promise<number[]> {
  const chosen: number[] = [];
  const taken = new Set(opts.avoid ?? []);
  for (const p of opts.preferred ?? []) {
    if (chosen.length >= count) break;
    if (!taken.has(p) && (await isPortFree(p))) {
      chosen.push(p);
      taken.add(p);
    }
  }
  while (chosen.length < count) {
    const p = await ephemeralPort();
    if (!taken.has(p)) {
      chosen.push(p);
      taken.add(p);
    }
  }
  return chosen;
}

function ephemeralPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen({ port: 0, host: "127.0.0.1", exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
