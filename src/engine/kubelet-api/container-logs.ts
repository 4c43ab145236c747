/*
 * `GET /containerLogs/{namespace}/{pod}/{container}` of one node, as the kubelet answers it (what
 * the API server's `pods/log` calls): the container's lines, a follow that stays open until the
 * container exits or the pod is gone, the kubelet's 400 and 404 answers.
 */
import type { ServerResponse } from "node:http";
import type { Clock } from "../../kernel/clock.ts";
import {
  containerLog,
  formatLines,
  parseLogQuery,
  selectLines,
  type HostedPod,
  type LogLine,
  type LogQuery,
} from "../container-log.ts";
import { rfc3339 } from "../node-object.ts";
import { GONE_STAGE } from "../pod-stage.ts";
import type { NodeApiView } from "./node-view.ts";

const TEXT = { "content-type": "text/plain; charset=utf-8" };

/** The open follows of the endpoints (ended on stop), and how often a follow checks. */
export interface FollowSet {
  readonly clock: Clock;
  /** How often a followed log checks for new lines and for its pod being gone (ms). */
  readonly checkMs: number;
  readonly open: Set<() => void>;
}

/** Answers one container-log request of `node`. */
export function serveContainerLogs(
  res: ServerResponse,
  node: NodeApiView,
  ref: { namespace: string; pod: string; container: string },
  params: URLSearchParams,
  follows: FollowSet,
): void {
  const { namespace: ns, pod: name, container } = ref;
  const q = parseLogQuery(params, follows.clock.now());
  if ("error" in q) {
    res.writeHead(400, TEXT).end(`${q.error}\n`);
    return;
  }
  const pod = node.podInfo(ns, name);
  if (!pod) {
    res.writeHead(404, TEXT).end(`pod "${name}" does not exist\n`);
    return;
  }
  const log = containerLog(pod, container);
  if (log.kind !== "lines") {
    res.writeHead(log.kind === "not-found" ? 404 : 400, TEXT).end(`${log.message}\n`);
    return;
  }
  if (q.previous) {
    res.writeHead(400, TEXT).end(`previous terminated container "${container}" in pod "${name}" not found\n`);
    return;
  }
  res.writeHead(200, TEXT);
  const out = new LimitedWriter(res, q.limitBytes);
  out.write(formatLines(selectLines(log.lines, q), q.timestamps));
  if (!q.follow || log.exited || out.full) {
    res.end();
    return;
  }
  res.flushHeaders();
  follow(res, out, node, pod, container, log.lines.length, q, follows);
}

/**
 * Keeps a followed log open: every check writes the lines written since (e.g. the container's
 * exit) and ends the response when the container has exited, the pod is gone (or replaced by one
 * of the same name: its containers stopped, which the last line says), the byte limit is reached,
 * the client leaves or the endpoints stop.
 */
function follow(
  res: ServerResponse,
  out: LimitedWriter,
  node: NodeApiView,
  pod: HostedPod,
  container: string,
  written: number,
  q: LogQuery,
  follows: FollowSet,
): void {
  const { clock } = follows;
  let cancel: (() => void) | undefined;
  let ended = false;
  const end = (): void => {
    if (ended) return;
    ended = true;
    cancel?.();
    follows.open.delete(end);
    if (!res.writableEnded) res.end();
  };
  follows.open.add(end);
  // "close" comes when the response ends or the client goes away.
  res.once("close", end);
  let last = pod;
  const check = (): void => {
    if (ended) return;
    const found = node.podInfo(pod.namespace, pod.name);
    const gone = !found || found.uid !== pod.uid;
    last = gone ? { ...last, stage: GONE_STAGE, finishedAt: rfc3339(clock.now()) } : found;
    const log = containerLog(last, container);
    if (log.kind !== "lines") {
      end();
      return;
    }
    const fresh: LogLine[] = log.lines.slice(written);
    written = log.lines.length;
    out.write(formatLines(fresh, q.timestamps));
    if (gone || log.exited || out.full) end();
    else cancel = clock.setTimer(follows.checkMs, check);
  };
  cancel = clock.setTimer(follows.checkMs, check);
}

/** Writes to a response up to `limitBytes` (the kubelet's limitBytes), cutting the last chunk. */
class LimitedWriter {
  private left: number;
  private readonly res: ServerResponse;

  constructor(res: ServerResponse, limitBytes: number | undefined) {
    this.res = res;
    this.left = limitBytes ?? Infinity;
  }

  get full(): boolean {
    return this.left <= 0;
  }

  write(text: string): void {
    if (text === "" || this.full) return;
    const buf = Buffer.from(text, "utf8");
    const chunk = buf.length > this.left ? buf.subarray(0, this.left) : buf;
    this.left -= chunk.length;
    this.res.write(chunk);
  }
}
