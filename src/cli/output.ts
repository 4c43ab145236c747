import { stringify } from "yaml";
import { BadInputError } from "../kernel/errors.ts";

// The table renderer lives in the kernel (the report renders tables too); verbs take it from here.
export { renderTable } from "../kernel/text-table.ts";

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

/** Renders data for machines: JSON for `-o json`, YAML otherwise. */
export function renderData(data: unknown, format: OutputFormat): string {
  return format === "json" ? JSON.stringify(data, null, 2) + "\n" : stringify(data);
}
