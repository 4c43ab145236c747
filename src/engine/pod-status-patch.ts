/*
 * The body of a pod status PATCH. The server merges a pod's conditions by type (strategic merge),
 * so a condition sent without the reason and message it had before keeps them: a condition that
 * turned True would still say why it was False. The kubelet's status manager sends a two-way
 * merge patch from the status on the server, which clears such fields with null; a body that
 * clears every reason and message a condition leaves out does the same in the same one request.
 */

/** The fields of a condition that come and go with its status. */
const CLEARED = ["reason", "message"] as const;

/** `status` as a PATCH body: each condition without a reason or message clears it (null). */
export function statusPatchBody(status: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const conditions = status["conditions"];
  if (!Array.isArray(conditions)) return { ...status };
  return {
    ...status,
    conditions: conditions.map((c: unknown) => {
      if (c === null || typeof c !== "object") return c;
      const o = c as Record<string, unknown>;
      // A directive ($patch: delete) is sent as it is.
      if (o["$patch"] !== undefined) return o;
      const out: Record<string, unknown> = { ...o };
      for (const k of CLEARED) if (out[k] === undefined) out[k] = null;
      return out;
    }),
  };
}
