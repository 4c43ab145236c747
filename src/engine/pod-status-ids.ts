/* How a container runtime names things in a pod status: image references, container ids, and
 * the durations the kubelet prints in its messages. */
import { RUNTIME_NAME } from "./node-object.ts";

/** A Go duration as the kubelet prints it in messages (`10s`, `1m20s`, `5m0s`). */
export function goDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60}s`;
}

/** Image reference as a container runtime reports it (`nginx` becomes `docker.io/library/nginx:latest`). */
export function normalizeImage(image: string | undefined): string {
  if (!image) return "";
  let ref = image;
  const slash = ref.indexOf("/");
  const first = slash < 0 ? "" : ref.slice(0, slash);
  if (slash < 0) ref = `docker.io/library/${ref}`;
  else if (!first.includes(".") && !first.includes(":") && first !== "localhost") ref = `docker.io/${ref}`;
  const lastPart = ref.slice(ref.lastIndexOf("/") + 1);
  if (!lastPart.includes(":") && !lastPart.includes("@")) ref = `${ref}:latest`;
  return ref;
}

/** A stable fake container id (64 hex digits) for a container of a pod. */
export function containerId(podUid: string, container: string): string {
  // FNV-1a over the inputs, widened to 64 hex characters: unique enough, cheap, deterministic.
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  const s = `${podUid}/${container}`;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  const part = (n: number): string => n.toString(16).padStart(8, "0");
  return `${RUNTIME_NAME}://${part(h1)}${part(h2)}${part((h1 ^ h2) >>> 0)}${part(Math.imul(h1, 31) >>> 0)}`.padEnd(
    73,
    "0",
  );
}
