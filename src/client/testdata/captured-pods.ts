import { readFileSync, readdirSync } from "node:fs";

/**
 * Pods of the real API server (v1.36.3), captured by test/integration/protobuf-pod.test.ts with
 * KUBEMARK_CAPTURE_PROTOBUF=1, each in protobuf and in JSON at one resourceVersion: a pod with
 * many kinds of fields run by a hollow node (pod-running) and deleted (pod-deleted), and the real
 * kubelet's and kubemark's pods of the engine's status tests (pod-kubelet-*, pod-kubemark-running).
 */
const dir = new URL("./protobuf/", import.meta.url);

/** The captured pods' names (pod-running, ...). */
export const CAPTURED_PODS: readonly string[] = readdirSync(dir)
  .filter((f) => /^pod-.*\.pb$/.test(f))
  .map((f) => f.slice(0, -3))
  .sort();

/** A captured pod: its protobuf answer and its JSON answer. */
export function capturedPod(name: string): { pb: Uint8Array; json: Record<string, unknown> } {
  return {
    pb: new Uint8Array(readFileSync(new URL(`${name}.pb`, dir))),
    json: JSON.parse(readFileSync(new URL(`${name}.json`, dir), "utf8")) as Record<string, unknown>,
  };
}
