/*
 * A container's usage model from its pod's annotations and the node's defaults (#19). Pure: the
 * same pod, container and defaults always give the same curves; a bad annotation gives the
 * default model and a problem for the caller to report, never an exception.
 */
import type { UsageContainer } from "../kubelet-api/node-view.ts";
import { type UsageCurve } from "./usage-curve.ts";
import type { UsageDefaults } from "./usage-defaults.ts";
import { parseUsageSpec, type UsageAmount, type UsageResource, type UsageSpec } from "./usage-spec.ts";

/** Annotation: every container's CPU usage (`250m`, `50%` of its request, or a pattern, see usage-spec.ts). */
export const CPU_USAGE_ANNOTATION = "kubemark-cluster.io/cpu-usage";
/** Annotation: every container's memory working set (`200Mi`, `50%`, or a pattern). */
export const MEMORY_USAGE_ANNOTATION = "kubemark-cluster.io/memory-usage";

/** The annotation for one container (`kubemark-cluster.io/cpu-usage.<container>`), which wins over the pod's. */
export function containerAnnotation(resource: UsageResource, container: string): string {
  return `${resource === "cpu" ? CPU_USAGE_ANNOTATION : MEMORY_USAGE_ANNOTATION}.${container}`;
}

/** The pod's usage annotations as one string ("" when it has none), to tell whether they changed. */
export function usageAnnotationsKey(annotations: Readonly<Record<string, string>>): string {
  let key = "";
  for (const k in annotations) {
    if (k.startsWith(CPU_USAGE_ANNOTATION) || k.startsWith(MEMORY_USAGE_ANNOTATION))
      key += `${k}=${annotations[k]}\n`;
  }
  return key;
}

/** A bad usage annotation: the pod uses the default model for it. */
export interface UsageProblem {
  readonly namespace: string;
  readonly pod: string;
  readonly annotation: string;
  readonly message: string;
}

/** Both curves of one container. */
export interface ContainerCurves {
  readonly cpu: UsageCurve;
  readonly memory: UsageCurve;
}

interface Bounds {
  readonly request: number | undefined;
  readonly limit: number | undefined;
  readonly floor: number;
}

/** An amount in the resource's unit, or undefined for a share of an unset request. */
function amountOf(a: UsageAmount, b: Bounds): number | undefined {
  if ("abs" in a) return a.abs;
  return b.request === undefined ? undefined : a.ofRequest * b.request;
}

/** Never below the floor; never above the limit (CPU is throttled there; memory beyond it would be an OOM kill, not modelled). */
function clamp(v: number, b: Bounds): number {
  const capped = b.limit === undefined ? v : Math.min(v, b.limit);
  return Math.max(b.floor, capped);
}

/**
 * The curve a spec gives for a container, or undefined when it takes a share of a request the
 * container does not set. `noise` (a fraction) applies to the lower level, kept under the limit.
 */
function curveOf(spec: UsageSpec, b: Bounds, noise: number, noiseStepMs: number): UsageCurve | undefined {
  let lo: number | undefined;
  let hi: number | undefined;
  let periodMs = 0;
  let duty = 0;
  if (spec.kind === "const") lo = hi = amountOf(spec.value, b);
  else if (spec.kind === "sine") {
    lo = amountOf(spec.min, b);
    hi = amountOf(spec.max, b);
    periodMs = spec.periodMs;
  } else {
    lo = amountOf(spec.low, b);
    hi = amountOf(spec.high, b);
    periodMs = spec.periodMs;
    duty = spec.duty;
  }
  if (lo === undefined || hi === undefined) return undefined;
  lo = clamp(lo, b);
  hi = clamp(hi, b);
  let noiseAmp = noise * Math.min(lo, hi);
  if (b.limit !== undefined) noiseAmp = Math.max(0, Math.min(noiseAmp, b.limit - Math.max(lo, hi)));
  return { kind: spec.kind, lo, hi, periodMs, duty, noiseAmp, noiseStepMs };
}

/** The default model's curve (a share of an unset request is the floor). */
function defaultCurve(spec: UsageSpec, b: Bounds, d: UsageDefaults): UsageCurve {
  return (
    curveOf(spec, b, d.noise, d.noiseStepMs) ?? {
      kind: "const",
      lo: b.floor,
      hi: b.floor,
      periodMs: 0,
      duty: 0,
      noiseAmp: 0,
      noiseStepMs: d.noiseStepMs,
    }
  );
}

function resolveOne(
  resource: UsageResource,
  annotations: Readonly<Record<string, string>>,
  container: UsageContainer,
  d: UsageDefaults,
  pod: { namespace: string; name: string },
  problems: UsageProblem[],
): UsageCurve {
  const b: Bounds =
    resource === "cpu"
      ? { request: container.cpuRequestMilli, limit: container.cpuLimitMilli, floor: d.cpuFloorMilli }
      : {
          request: container.memoryRequestBytes,
          limit: container.memoryLimitBytes,
          floor: d.memoryFloorBytes,
        };
  const fallback = (): UsageCurve => defaultCurve(resource === "cpu" ? d.cpu : d.memory, b, d);
  const own = containerAnnotation(resource, container.name);
  const key =
    annotations[own] !== undefined
      ? own
      : resource === "cpu"
        ? CPU_USAGE_ANNOTATION
        : MEMORY_USAGE_ANNOTATION;
  const text = annotations[key];
  if (text === undefined) return fallback();
  const report = (message: string): UsageCurve => {
    problems.push({ namespace: pod.namespace, pod: pod.name, annotation: key, message });
    return fallback();
  };
  const parsed = parseUsageSpec(text, resource, `annotation ${key}`);
  if ("error" in parsed) return report(`${parsed.error}; using the default model`);
  const curve = curveOf(parsed.spec, b, 0, d.noiseStepMs);
  if (curve) return curve;
  return report(
    `annotation ${key} "${text}" is a share of the ${resource} request, which container ${container.name} does not set: give an amount (${resource === "cpu" ? "250m" : "200Mi"}) or set the request; using the default model`,
  );
}

/** A container's CPU and memory curves; problems with the pod's annotations are appended to `problems`. */
export function containerCurves(
  pod: {
    readonly namespace: string;
    readonly name: string;
    readonly annotations: Readonly<Record<string, string>>;
  },
  container: UsageContainer,
  defaults: UsageDefaults,
  problems: UsageProblem[],
): ContainerCurves {
  return {
    cpu: resolveOne("cpu", pod.annotations, container, defaults, pod, problems),
    memory: resolveOne("memory", pod.annotations, container, defaults, pod, problems),
  };
}
