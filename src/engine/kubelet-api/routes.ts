/*
 * The paths a node's kubelet API serves, as a route table: `/healthz`, `/pods`, container logs,
 * and the streaming paths (`/exec`, `/attach`, `/portForward`, `/run`), which a hollow container
 * cannot serve (no runtime, no process) and answer at once with the kubelet's error for a runtime
 * that cannot stream, instead of hanging. The stats endpoints add their routes to the table
 * (stats-routes.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { serveContainerLogs, type FollowSet } from "./container-logs.ts";
import type { NodeApiView } from "./node-view.ts";

/** What a route handler is given: the request, the node it is for, and the time. */
export interface RouteContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly node: NodeApiView;
  /** The route pattern's groups, URL-decoded. */
  readonly params: readonly string[];
  readonly nowMs: number;
  readonly follows: FollowSet;
}

/** One route: a path pattern, the methods it answers, and its handler. */
export interface KubeletRoute {
  readonly pattern: RegExp;
  readonly methods: readonly string[];
  handle(ctx: RouteContext): void;
}

export const TEXT = { "content-type": "text/plain; charset=utf-8" };

/**
 * A streaming request for a hollow container: 404 when the node runs no such pod, else the
 * kubelet's answer when its runtime cannot serve the stream (streaming.WriteError: 500 with the
 * runtime's error as the body), before any upgrade, so `kubectl exec` fails at once with the reason.
 */
function noRuntime(what: string): (ctx: RouteContext) => void {
  return ({ res, node, params }) => {
    const [ns, pod, container] = params as [string, string, string | undefined];
    const info = node.podInfo(ns, pod);
    if (!info) {
      res.writeHead(404, TEXT).end(`pod does not exist\n`);
      return;
    }
    const target = container ? `container "${container}" of pod "${ns}/${pod}"` : `pod "${ns}/${pod}"`;
    res
      .writeHead(500, TEXT)
      .end(
        `cannot ${what} ${target} on node "${node.name}": it is a hollow container; ` +
          `kubemark-cluster hollow nodes run no processes and have no container runtime\n`,
      );
  };
}

const SEG = "([^/]+)";
/** `/{namespace}/{pod}/{container}` or `/{namespace}/{pod}/{uid}/{container}` (the uid is ignored). */
const CONTAINER_PATH = `/${SEG}/${SEG}(?:/[^/]+)?/${SEG}/?$`;

/** The kubelet paths every node serves. */
export const BASE_ROUTES: readonly KubeletRoute[] = [
  {
    pattern: /^\/healthz\/?$/,
    methods: ["GET"],
    handle: ({ res }) => void res.writeHead(200, TEXT).end("ok"),
  },
  {
    pattern: /^\/pods\/?$/,
    methods: ["GET"],
    handle: ({ res, node }) => {
      const body = { kind: "PodList", apiVersion: "v1", metadata: {}, items: node.listPods() };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    },
  },
  {
    pattern: new RegExp(`^/containerLogs/${SEG}/${SEG}/${SEG}/?$`),
    methods: ["GET"],
    handle: ({ res, node, params, url, follows }) => {
      const [namespace, pod, container] = params as [string, string, string];
      serveContainerLogs(res, node, { namespace, pod, container }, url.searchParams, follows);
    },
  },
  { pattern: new RegExp(`^/exec${CONTAINER_PATH}`), methods: ["GET", "POST"], handle: noRuntime("exec in") },
  {
    pattern: new RegExp(`^/attach${CONTAINER_PATH}`),
    methods: ["GET", "POST"],
    handle: noRuntime("attach to"),
  },
  { pattern: new RegExp(`^/run${CONTAINER_PATH}`), methods: ["POST"], handle: noRuntime("run a command in") },
  {
    pattern: new RegExp(`^/portForward/${SEG}/${SEG}(?:/[^/]+)?/?$`),
    methods: ["GET", "POST"],
    handle: noRuntime("forward ports of"),
  },
];

/** The route for `path`, with its decoded groups, or undefined (404). */
export function findRoute(
  routes: readonly KubeletRoute[],
  path: string,
): { route: KubeletRoute; params: string[] } | undefined {
  for (const route of routes) {
    const m = route.pattern.exec(path);
    if (m) return { route, params: m.slice(1).map((s) => decodeURIComponent(s)) };
  }
  return undefined;
}
