import { stringify } from "yaml";
import { BadInputError } from "../kernel/errors.ts";

/** Output formats every verb accepts with `-o`. */
export type OutputFormat = "table" | "json" | "yaml" | "wide";

/** Validates `-o`. */
export function parseOutput(
  v: string | undefined,
  allowed: readonly OutputFormat[] = ["table", "json", "yaml"],
): OutputFormat {
  const f = (v ?? "table") as OutputFormat;
  if (!allowed.includes(f)) {
    throw new BadInputError(`-o must be one of ${allowed.join(", ")}, got "${v}"`);
  }
  return f;
}

/** Renders rows as an aligned text table (kubectl style: upper-case headers, two-space gaps). */
export function renderTable(
  headers: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<string | number>>,
): string {
  const cells = [headers.map((h) => h.toUpperCase()), ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return (
    cells
      .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  "))
      .join("\n") + "\n"
  );
}

/** Renders data for machines: JSON for `-o json`, YAML otherwise. */
export function renderData(data: unknown, format: OutputFormat): string {
  return format === "json" ? JSON.stringify(data, null, 2) + "\n" : stringify(data);
}
