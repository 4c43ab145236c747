import { BadInputError } from "../kernel/errors.ts";

/** The Kubernetes release the local control plane uses unless told otherwise. */
export const DEFAULT_KUBE_VERSION = "v1.36.3";

/** A Kubernetes release version, as the Go module proxy names it. */
export interface KubeVersion {
  /** `v1.36.3` */
  readonly git: string;
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Version of the staging modules (`k8s.io/api` ...) that go with it: `v0.36.3`. */
  readonly staging: string;
}

const VERSION_RE = /^v?(1)\.(\d{1,3})\.(\d{1,3})$/;

/** Parses `v1.36.3` (or `1.36.3`); throws a BadInputError naming the flag otherwise. */
export function parseKubeVersion(input: string, flag = "--kube-version"): KubeVersion {
  const m = VERSION_RE.exec(input.trim());
  if (!m) {
    throw new BadInputError(
      `${flag} must be a Kubernetes release like ${DEFAULT_KUBE_VERSION}, got "${input}"`,
      `omit ${flag} to use ${DEFAULT_KUBE_VERSION}`,
    );
  }
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const patch = Number(m[3]);
  if (minor < 30) {
    throw new BadInputError(
      `${flag} ${input} is too old: kubemark-cluster supports Kubernetes v1.30 and newer`,
      `use ${DEFAULT_KUBE_VERSION}`,
    );
  }
  return { git: `v${major}.${minor}.${patch}`, major, minor, patch, staging: `v0.${minor}.${patch}` };
}
