/**
 * What fleet operations report while they work. The caller decides how to show them (the CLI
 * draws progress bars and lines on stderr); operations never print.
 */
export type FleetEvent =
  /** Something the user should know although it does not stop the command (version skew). */
  | { readonly kind: "warning"; readonly message: string }
  /** A step of the operation, one line (`creating fleet ...`, `  removed 3 Nodes ...`). */
  | { readonly kind: "step"; readonly message: string }
  /** The wait for Ready nodes: how many the running engine backs so far. */
  | {
      readonly kind: "nodes-ready";
      readonly ready: number;
      readonly desired: number;
      readonly registered: number;
      /** Seconds since the wait began. */
      readonly seconds: number;
    }
  /** The wait for Ready nodes ended (reached, failed or gave up). */
  | { readonly kind: "wait-ended" };
