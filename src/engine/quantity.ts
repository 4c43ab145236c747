import { BadInputError } from "../kernel/errors.ts";

const QUANTITY_RE = /^[+]?(\d+(\.\d*)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+)?$/;

const SUFFIX: Readonly<Record<string, number>> = {
  "": 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The number a quantity stands for (`500m` 0.5, `16Gi`, `1e3`), or undefined when it is not one. */
export function quantityNumber(q: string | undefined): number | undefined {
  const m = /^([+]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei))?$/.exec(
    (q ?? "").trim(),
  );
  if (!m) return undefined;
  const n = Number(m[1]) * (m[2] ? 10 ** Number(m[2].slice(1)) : SUFFIX[m[3] ?? ""]!);
  return Number.isFinite(n) ? n : undefined;
}

/** Validates a Kubernetes resource quantity (`1`, `500m`, `16Gi`, `4026531840`) and returns it trimmed. */
export function parseQuantity(value: string, flag: string): string {
  const v = value.trim();
  if (!QUANTITY_RE.test(v)) {
    throw new BadInputError(
      `${flag} must be a Kubernetes quantity such as 4, 500m, 16Gi or 4026531840, got "${value}"`,
    );
  }
  return v;
}

/** A resource name as the API server accepts it for extended resources (`nvidia.com/gpu`). */
const RESOURCE_NAME_RE =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Parses `name=qty,name=qty` (kubemark's `--extended-resources`). */
export function parseResourceList(value: string, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf("=");
    const name = eq < 0 ? "" : part.slice(0, eq).trim();
    if (eq < 0 || !RESOURCE_NAME_RE.test(name)) {
      throw new BadInputError(`${flag} takes name=quantity pairs like nvidia.com/gpu=8, got "${part}"`);
    }
    out[name] = parseQuantity(part.slice(eq + 1), `${flag} ${name}`);
  }
  return out;
}

const LABEL_KEY_RE =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

/** Parses `k=v,k2=v2` node labels. */
export function parseLabels(value: string, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf("=");
    const k = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? "" : part.slice(eq + 1);
    if (!LABEL_KEY_RE.test(k) || !LABEL_VALUE_RE.test(v)) {
      throw new BadInputError(`${flag} takes key=value labels like hollow-node=true, got "${part}"`);
    }
    out[k] = v;
  }
  return out;
}

/** A node taint. */
export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

/** Parses `key=value:Effect,key:Effect` (the kubelet's `--register-with-taints`). */
export function parseTaints(value: string, flag: string): Taint[] {
  const out: Taint[] = [];
  for (const part of value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([^=:]+)(=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(part);
    if (!m || !LABEL_KEY_RE.test(m[1] ?? "") || !LABEL_VALUE_RE.test(m[3] ?? "")) {
      throw new BadInputError(
        `${flag} takes key=value:Effect taints (Effect NoSchedule, PreferNoSchedule or NoExecute), got "${part}"`,
      );
    }
    out.push({
      key: m[1]!,
      ...(m[3] ? { value: m[3] } : {}),
      effect: m[4] as Taint["effect"],
    });
  }
  return out;
}
