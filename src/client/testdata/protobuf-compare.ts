/**
 * Comparing a protobuf answer decoded by the codec with the JSON answer of the same object, as the
 * codec's tests do (unit tests on captured answers, the integration test on live ones).
 */

/**
 * `have` with only the fields `want` names (recursively; lists item by item, as many items as
 * `want` has: the API server appends to some, e.g. the not-ready taint of a new Node).
 */
export function like(have: unknown, want: unknown): unknown {
  if (Array.isArray(want) && Array.isArray(have))
    return have.slice(0, want.length).map((h, i) => like(h, want[i]));
  if (want && typeof want === "object" && have && typeof have === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(want))
      out[k] = like((have as Record<string, unknown>)[k], (want as Record<string, unknown>)[k]);
    return out;
  }
  return have;
}

/**
 * Zero values dropped: Go's protobuf writes a non-pointer field's zero (0, "", an empty Time)
 * where its JSON leaves the field out (omitempty) or writes null.
 */
export function withoutZeros(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutZeros);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const n = withoutZeros(x);
      const empty = n && typeof n === "object" && !Array.isArray(n) && Object.keys(n).length === 0;
      if (n !== undefined && n !== null && n !== 0 && n !== "" && n !== false && !empty) out[k] = n;
    }
    return out;
  }
  return v;
}
