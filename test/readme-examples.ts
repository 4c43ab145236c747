/**
 * Examples the README shows, read from it as a user copies them, so the tests check what is
 * written there and the README cannot drift from what they check.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";

const README = new URL("../README.md", import.meta.url);

/** The fields of a NetworkPolicy the tests read. */
export interface NetworkPolicyExample {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: {
    podSelector: { matchLabels?: Record<string, string> };
    policyTypes?: string[];
    ingress?: {
      from?: {
        namespaceSelector?: { matchLabels?: Record<string, string> };
        podSelector?: { matchLabels?: Record<string, string> };
        ipBlock?: { cidr: string };
      }[];
      ports?: { protocol?: string; port?: number | string; endPort?: number }[];
    }[];
  };
}

/** The README's one NetworkPolicy (its `yaml` block of kind NetworkPolicy); throws when there is not exactly one. */
export function readmeNetworkPolicy(): NetworkPolicyExample {
  const text = readFileSync(README, "utf8");
  const blocks = [...text.matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map((m) => m[1]!)
    .filter((b) => /^kind: NetworkPolicy$/m.test(b));
  if (blocks.length !== 1) {
    throw new Error(`README.md shows ${blocks.length} NetworkPolicy yaml blocks; the tests read exactly one`);
  }
  return parseYaml(blocks[0]!) as NetworkPolicyExample;
}
