/*
 * A fleet profile (#17, #19): the node shapes a fleet mixes by weight, and the behaviour models of
 * their nodes: the usage model (`usage:`, what `/metrics/resource` and `/stats/summary` serve) and
 * the pod models' fleet defaults (`pods:`, what a pod's `kubemark-cluster.io/` annotations
 * override), for the whole profile and per shape. Parsed once at the edge, purely: every bad value
 * is named with the file, the shape and the field.
 */
import { parse as parseYaml } from "yaml";
import { BadInputError } from "../kernel/errors.ts";
import type { EngineConfig, NodeShape } from "./config.ts";
import { DEFAULT_POD_START_LATENCY, NO_POD_START_LATENCY, parseLatencyRange } from "./container-run.ts";
import { parseLabels, parseQuantity, parseResourceList, parseTaints } from "./quantity.ts";
import { parseUsageDefaults, type UsageDefaults } from "./usage/usage-defaults.ts";

/** The pod models a fleet has defaults for (`--job-run-seconds`, `--pod-sandbox-latency`). */
export type PodModels = Pick<EngineConfig, "jobRunMs" | "podStartLatency">;

/** What a profile's fields left out take: the flags' values. */
export interface ProfileBase {
  /** The node shape of `--cpu`, `--memory`, `--max-pods`, ... */
  readonly shape: NodeShape;
  /** `--usage-defaults`. */
  readonly usage: UsageDefaults;
  /** `--job-run-seconds`, `--pod-sandbox-latency`. */
  readonly pods: PodModels;
}

const TOP_FIELDS = ["shapes", "usage", "pods"];
const SHAPE_FIELDS = [
  "name",
  "weight",
  "cpu",
  "memory",
  "maxPods",
  "ephemeralStorage",
  "extendedResources",
  "labels",
  "taints",
  "usage",
  "pods",
];
const POD_FIELDS = ["sandbox-latency", "job-run-seconds"];

// YAML reads `spot: true` and `gpu: 8` as a boolean and a number; labels and quantities want their text.
const str = (v: unknown): string =>
  typeof v === "number" || typeof v === "boolean" ? String(v) : typeof v === "string" ? v : "";

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function checkFields(raw: Record<string, unknown>, known: readonly string[], where: string): void {
  for (const k of Object.keys(raw)) {
    if (!known.includes(k))
      throw new BadInputError(`${where}: unknown field "${k}"`, `the fields are ${known.join(", ")}`);
  }
}

/**
 * A `usage:` map (the keys of `--usage-defaults`: `cpu: 20%`, `system-cpu: 200m`, ...) over
 * `base`; undefined when the map is absent.
 */
function parseUsage(raw: unknown, where: string, base: UsageDefaults): UsageDefaults | undefined {
  if (raw === undefined) return undefined;
  if (!isMap(raw))
    throw new BadInputError(
      `${where}: usage must be a map like {cpu: 20%, memory: 60%}, got ${JSON.stringify(raw)}`,
    );
  let out = base;
  for (const [key, value] of Object.entries(raw)) {
    const text = str(value);
    if (text === "" || text.includes(","))
      throw new BadInputError(
        `${where} usage ${key} must be one value like 20%, 250m or "sine min=100m max=900m period=10m", got ${JSON.stringify(value)}`,
      );
    out = parseUsageDefaults(`${key}=${text}`, `${where} usage`, out);
  }
  return out;
}

/** `30`, `30s`, `5m`, `500ms` in ms; undefined when not a positive duration. */
function durationMs(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const ms = m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : m[2] === "h" ? n * 3_600_000 : n * 1000;
  return ms > 0 ? ms : undefined;
}

/** A `pods:` map (`sandbox-latency`, `job-run-seconds`) over `base`; undefined when absent. */
function parsePods(raw: unknown, where: string, base: PodModels): PodModels | undefined {
  if (raw === undefined) return undefined;
  if (!isMap(raw))
    throw new BadInputError(
      `${where}: pods must be a map like {sandbox-latency: 250ms-350ms, job-run-seconds: 30}, got ${JSON.stringify(raw)}`,
    );
  checkFields(raw, POD_FIELDS, `${where} pods`);
  let { jobRunMs, podStartLatency } = base;
  if (raw["sandbox-latency"] !== undefined) {
    const text = str(raw["sandbox-latency"]);
    const range = parseLatencyRange(text);
    if (!range || range.maxMs > 600_000)
      throw new BadInputError(
        `${where} pods.sandbox-latency must be a duration like 300ms or a range like 250ms-350ms (0 = pods start at once; at most 10m), got ${JSON.stringify(raw["sandbox-latency"])}`,
      );
    podStartLatency =
      range.maxMs === 0
        ? NO_POD_START_LATENCY
        : { sandbox: range, containersMs: DEFAULT_POD_START_LATENCY.containersMs };
  }
  if (raw["job-run-seconds"] !== undefined) {
    const ms = durationMs(str(raw["job-run-seconds"]));
    if (ms === undefined)
      throw new BadInputError(
        `${where} pods.job-run-seconds must be a positive number of seconds or a duration like 30s or 5m, got ${JSON.stringify(raw["job-run-seconds"])}`,
      );
    jobRunMs = ms;
  }
  return { jobRunMs, podStartLatency };
}

/**
 * Parses a fleet profile (YAML or JSON):
 * ```yaml
 * usage: {cpu: 10%, memory: 50%}               # every shape's nodes (over --usage-defaults)
 * pods: {sandbox-latency: 290ms-340ms}         # over --pod-sandbox-latency, --job-run-seconds
 * shapes:
 *   - {name: standard, weight: 80, cpu: "4", memory: 16Gi}
 *   - {name: gpu, weight: 20, cpu: "8", memory: 64Gi, extendedResources: {nvidia.com/gpu: "8"},
 *      labels: {accelerator: nvidia}, taints: ["nvidia.com/gpu=present:NoSchedule"],
 *      usage: {cpu: 80%, system-cpu: 250m}, pods: {sandbox-latency: 2s-3s, job-run-seconds: 120}}
 * ```
 * Precedence, from the strongest: a pod's annotation (applied by the engine), the shape's
 * `usage`/`pods`, the profile's, the flags (`base`), the built-in defaults. Shape fields left out
 * take the values of `base.shape`. A shape's `usage`/`pods` are set (resolved over everything
 * weaker) when the profile gives either level, else left undefined (the fleet's values).
 */
export function parseProfile(text: string, source: string, base: ProfileBase): NodeShape[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new BadInputError(`profile ${source} is not valid YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  const shapes = isMap(doc) ? doc["shapes"] : undefined;
  if (!isMap(doc) || !Array.isArray(shapes) || shapes.length === 0) {
    throw new BadInputError(`profile ${source} needs a non-empty "shapes" list`);
  }
  checkFields(doc, TOP_FIELDS, `profile ${source}`);
  const top = `profile ${source}`;
  const usage = parseUsage(doc["usage"], top, base.usage);
  const pods = parsePods(doc["pods"], top, base.pods);
  return shapes.map((raw: unknown, i): NodeShape => {
    const at = `profile ${source} shape ${i + 1}`;
    if (!isMap(raw))
      throw new BadInputError(`${at}: must be a map of fields like {name: gpu, weight: 20, cpu: "8"}`);
    const name = raw["name"] === undefined ? `shape-${i + 1}` : str(raw["name"]);
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name))
      throw new BadInputError(`${at}: name must be a DNS label, got "${name}"`);
    const where = raw["name"] === undefined ? at : `${at} (${name})`;
    checkFields(raw, SHAPE_FIELDS, where);
    const weight = raw["weight"] === undefined ? 1 : Number(raw["weight"]);
    if (!Number.isFinite(weight) || weight <= 0)
      throw new BadInputError(`${where}: weight must be a positive number, got "${str(raw["weight"])}"`);
    const maxPods = raw["maxPods"] === undefined ? base.shape.maxPods : Number(raw["maxPods"]);
    if (!Number.isInteger(maxPods) || maxPods < 1)
      throw new BadInputError(`${where}: maxPods must be a positive integer`);
    const record = (v: unknown, what: string): string => {
      if (v === undefined) return "";
      if (!isMap(v)) throw new BadInputError(`${where}: ${what} must be a map`);
      return Object.entries(v)
        .map(([k, x]) => `${k}=${str(x)}`)
        .join(",");
    };
    const rawTaints = raw["taints"];
    const taints =
      rawTaints === undefined ? "" : Array.isArray(rawTaints) ? rawTaints.map(str).join(",") : str(rawTaints);
    const quantity = (field: "cpu" | "memory" | "ephemeralStorage"): string =>
      raw[field] === undefined ? base.shape[field] : parseQuantity(str(raw[field]), `${where} ${field}`);
    const shapeUsage = parseUsage(raw["usage"], where, usage ?? base.usage) ?? usage;
    const shapePods = parsePods(raw["pods"], where, pods ?? base.pods) ?? pods;
    return {
      name,
      weight,
      cpu: quantity("cpu"),
      memory: quantity("memory"),
      maxPods,
      ephemeralStorage: quantity("ephemeralStorage"),
      extendedResources: {
        ...base.shape.extendedResources,
        ...parseResourceList(
          record(raw["extendedResources"], "extendedResources"),
          `${where} extendedResources`,
        ),
      },
      labels: { ...base.shape.labels, ...parseLabels(record(raw["labels"], "labels"), `${where} labels`) },
      taints: [...base.shape.taints, ...parseTaints(taints, `${where} taints`)],
      ...(shapeUsage ? { usage: shapeUsage } : {}),
      ...(shapePods ? { pods: shapePods } : {}),
    };
  });
}
