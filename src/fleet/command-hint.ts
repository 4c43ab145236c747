/**
 * Commands suggested in messages carry the flags the user gave, so the suggestion acts on the
 * same fleet and cluster: a bare `kubemark-cluster create` would use another kubeconfig or
 * namespace than the one that failed.
 */

/** Namespace of a fleet when `-n` is not given. */
export const DEFAULT_FLEET_NAMESPACE = "kubemark";

/** The flags that pick a fleet (kubectl's names), as the user gave them. */
export interface ScopeFlagValues {
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
  readonly namespace: string;
  readonly targetKubeconfig?: string | undefined;
  readonly targetContext?: string | undefined;
}

function quote(v: string): string {
  return /^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, "'\\''")}'`;
}

/** ` --kubeconfig K -n NS ...` for suggested commands; empty for the defaults. */
export function scopeFlags(f: ScopeFlagValues): string {
  const parts: string[] = [];
  if (f.kubeconfig) parts.push(`--kubeconfig ${quote(f.kubeconfig)}`);
  if (f.context) parts.push(`--context ${quote(f.context)}`);
  if (f.namespace !== DEFAULT_FLEET_NAMESPACE) parts.push(`-n ${f.namespace}`);
  if (f.targetKubeconfig) parts.push(`--target-kubeconfig ${quote(f.targetKubeconfig)}`);
  if (f.targetContext) parts.push(`--target-context ${quote(f.targetContext)}`);
  return parts.length ? ` ${parts.join(" ")}` : "";
}

/** `kubemark-cluster VERB [ARGS] <the user's scope flags>`. */
export function suggestCommand(f: ScopeFlagValues, verbAndArgs: string): string {
  return `kubemark-cluster ${verbAndArgs}${scopeFlags(f)}`;
}
