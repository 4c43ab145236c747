/*
 * The kubelet API's route table with the stats endpoints (stats-endpoints.ts, stats-summary.ts)
 * on it: `/metrics/resource` (what metrics-server scrapes), `/stats/summary`, and `/metrics`. Each
 * node keeps its own usage model (counters that stay monotonic between scrapes), made on its
 * first scrape; `/metrics/cadvisor` (stats-cadvisor.ts) from the same model.
 */
import { DEFAULT_USAGE, type UsageDefaults } from "../usage/usage-defaults.ts";
import { NodeUsage } from "../usage/node-usage.ts";
import type { UsageProblem } from "../usage/usage-annotations.ts";
import type { NodeApiView } from "./node-view.ts";
import { BASE_ROUTES, type KubeletRoute, type RouteContext } from "./routes.ts";
import { PROMETHEUS_TEXT, renderKubeletMetrics, renderResourceMetrics } from "./stats-endpoints.ts";
import { renderCadvisorMetrics } from "./stats-cadvisor.ts";
import { renderStatsSummary } from "./stats-summary.ts";

/**
 * Every route of a node's kubelet API; `usageFor` gives a node's usage defaults (default
 * {@link DEFAULT_USAGE} for every node); `onProblem` hears each bad usage annotation once (the
 * pod uses the default meanwhile), after the scrape that found it.
 */
export function kubeletRoutes(
  usageFor: (view: NodeApiView) => UsageDefaults = () => DEFAULT_USAGE,
  onProblem: (node: string, problem: UsageProblem) => void = () => undefined,
): KubeletRoute[] {
  const models = new WeakMap<NodeApiView, NodeUsage>();
  const model = (view: NodeApiView): NodeUsage => {
    let m = models.get(view);
    if (!m) {
      m = new NodeUsage(usageFor(view), view.name);
      models.set(view, m);
    }
    return m;
  };
  const report = (node: NodeApiView): void => {
    for (const p of models.get(node)?.takeProblems() ?? []) onProblem(node.name, p);
  };
  const prometheus =
    (render: (view: NodeApiView, nowMs: number, model: NodeUsage) => string) =>
    ({ res, node, nowMs }: RouteContext): void => {
      res.writeHead(200, { "content-type": PROMETHEUS_TEXT }).end(render(node, nowMs, model(node)));
      report(node);
    };
  return [
    ...BASE_ROUTES,
    { pattern: /^\/metrics\/resource\/?$/, methods: ["GET"], handle: prometheus(renderResourceMetrics) },
    { pattern: /^\/metrics\/?$/, methods: ["GET"], handle: prometheus(renderKubeletMetrics) },
    { pattern: /^\/metrics\/cadvisor\/?$/, methods: ["GET"], handle: prometheus(renderCadvisorMetrics) },
    {
      pattern: /^\/stats\/summary\/?$/,
      methods: ["GET"],
      handle: ({ res, node, nowMs, url }) => {
        const onlyCpuAndMemory = url.searchParams.get("only_cpu_and_memory") === "true";
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(renderStatsSummary(node, nowMs, model(node), { onlyCpuAndMemory }));
        report(node);
      },
    },
  ];
}
