import { createServer, type Server } from "node:http";
import type { Engine } from "./engine.ts";
import type { EngineMetrics } from "./metrics.ts";

/**
 * The hollow proxies' health endpoint, like kube-proxy's (port 10256): `/healthz` answers 200
 * with `{"lastUpdated", "currentTime", "healthy"}` while every proxier syncs, 503 once any has
 * pending changes and no sync for twice the sync period. `/views` lists what each node's
 * proxier has programmed; `/metrics` serves the process metrics. Loopback only by default. Times
 * come from the engine's clock.
 */
export function serveProxyHealth(
  engine: Engine,
  metrics: EngineMetrics,
  port: number,
  address = "127.0.0.1",
): Promise<Server> {
  const srv = createServer((req, res) => {
    const url = (req.url ?? "/").split("?")[0];
    const json = (code: number, body: unknown): void => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url === "/healthz" || url === "/livez") {
      const now = engine.clock.now();
      const h = engine.proxyHealth();
      json(h.healthy ? 200 : 503, {
        lastUpdated: new Date(h.oldestSyncAt || now).toISOString(),
        currentTime: new Date(now).toISOString(),
        healthy: h.healthy,
        ...(h.unhealthy.length > 0 ? { unhealthyNodes: h.unhealthy.slice(0, 100) } : {}),
      });
    } else if (url === "/views") {
      json(200, { views: engine.proxyViews() });
    } else if (url === "/metrics") {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": metrics.registry.contentType });
          res.end(text);
        },
        () => json(500, { error: "metrics failed" }),
      );
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(port, address, () => resolve(srv));
  });
}
