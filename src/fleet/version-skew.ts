/**
 * The Kubernetes version skew policy between kubelets and kube-apiserver: a kubelet must not be
 * newer than the API server (minor version), and may be up to three minor versions older.
 */

/** Minor versions a kubelet may lag behind kube-apiserver. */
export const MAX_KUBELET_MINORS_BEHIND = 3;

/** How a kubelet version relates to the API server's under the skew policy. */
export type KubeletSkew =
  | { readonly kind: "ok" }
  /** One of the versions does not parse (a vendor build without a semantic version): not checked. */
  | { readonly kind: "unknown" }
  | { readonly kind: "newer" }
  | { readonly kind: "too-old"; readonly minorsBehind: number };

function majorMinor(v: string): [number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)(\.\d+)?/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** Where `kubelet` stands relative to `apiserver` (`v1.36.3`, `v1.31.0-alpha.1`, ...). */
export function kubeletSkew(kubelet: string, apiserver: string): KubeletSkew {
  const k = majorMinor(kubelet);
  const a = majorMinor(apiserver);
  if (!k || !a) return { kind: "unknown" };
  if (k[0] !== a[0]) return k[0] > a[0] ? { kind: "newer" } : { kind: "too-old", minorsBehind: Infinity };
  if (k[1] > a[1]) return { kind: "newer" };
  const behind = a[1] - k[1];
  return behind > MAX_KUBELET_MINORS_BEHIND ? { kind: "too-old", minorsBehind: behind } : { kind: "ok" };
}
