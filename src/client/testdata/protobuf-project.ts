import type { Schema } from "../protobuf-schema.ts";

/**
 * A JSON answer projected on a read schema: only the fields the schema names, an inline struct's
 * fields where JSON has them (in the enclosing object), lists and maps item by item. The
 * codec's decoding of the same object in protobuf must be exactly this (apiVersion and kind
 * included), with no allowance for zero values: the schema's `omitEmpty` says where JSON leaves
 * them out.
 */
export function projectOn(json: unknown, schema: Schema): Record<string, unknown> {
  const obj = json as Record<string, unknown>;
  const out = projectMessage(obj, schema);
  for (const k of ["apiVersion", "kind"]) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}

function projectMessage(obj: Record<string, unknown>, schema: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(schema)) {
    if (f.inline) {
      Object.assign(out, projectMessage(obj, f.t as Schema));
      continue;
    }
    const v = obj[name];
    if (v === undefined) continue;
    if (typeof f.t === "string" || v === null) out[name] = v;
    else if (f.list)
      out[name] = (v as unknown[]).map((x) => projectMessage(x as Record<string, unknown>, f.t as Schema));
    else if (f.map) {
      const m: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>))
        m[k] = projectMessage(x as Record<string, unknown>, f.t);
      out[name] = m;
    } else out[name] = projectMessage(v as Record<string, unknown>, f.t);
  }
  return out;
}
