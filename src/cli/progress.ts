import cliProgress from "cli-progress";
import type { BuildEvent } from "../controlplane/go-build.ts";
import type { UpEvent } from "../controlplane/local-cluster.ts";
import type { FleetEvent } from "../fleet/events.ts";

/**
 * Draws progress on stderr (stdout stays clean for `-o json`): a bar on a terminal, one line per
 * change otherwise (CI logs).
 */
export class ProgressView {
  private bar: cliProgress.SingleBar | undefined;
  private lastLine = "";
  private readonly tty: boolean;
  private readonly quiet: boolean;
  private buildStarted = 0;

  constructor(opts: { tty: boolean; quiet?: boolean }) {
    this.tty = opts.tty;
    this.quiet = opts.quiet ?? false;
  }

  /** Prints a line unless it repeats the previous one. */
  line(text: string): void {
    if (this.quiet || text === this.lastLine) return;
    this.lastLine = text;
    if (this.bar) this.bar.stop();
    this.bar = undefined;
    process.stderr.write(`${text}\n`);
  }

  /** Shows a Go build step. */
  build(e: BuildEvent): void {
    if (this.quiet) return;
    const label = e.binary === "modules" ? "downloading Go modules" : `building ${e.binary}`;
    if (e.index === 0 && e.state === "start") {
      this.buildStarted = Date.now();
      this.line(
        `building the control-plane binaries from the Go module proxy (about 10 minutes on 2 cores the first time, cached after)`,
      );
    }
    if (this.tty) {
      if (!this.bar) {
        this.bar = new cliProgress.SingleBar(
          {
            format: "  [{bar}] {value}/{total} {step} ({elapsed}s)",
            hideCursor: true,
            stream: process.stderr,
          },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(e.total, e.index, { step: label, elapsed: 0 });
      }
      this.bar.update(e.state === "done" ? e.index + 1 : e.index, {
        step: label,
        elapsed: Math.round((Date.now() - this.buildStarted) / 1000),
      });
      if (e.state === "done" && e.index + 1 === e.total) {
        this.bar.stop();
        this.bar = undefined;
      }
    } else if (e.state === "done") {
      process.stderr.write(`  [${e.index + 1}/${e.total}] ${label} done in ${Math.round(e.seconds ?? 0)}s\n`);
    } else {
      process.stderr.write(`  [${e.index + 1}/${e.total}] ${label} ...\n`);
    }
  }

  /** Handles an event of `up`. */
  up(e: UpEvent): void {
    if (e.kind === "build") this.build(e.build);
    else if (e.kind === "step") this.line(e.message);
    else if (e.status !== "ok") this.line(`  waiting for ${e.component}: ${e.status}`);
  }

  /** Handles an event of a fleet operation (`create`, `scale`, `cleanup`, ...). */
  fleet(e: FleetEvent): void {
    if (e.kind === "warning") this.line(`warning: ${e.message}`);
    else if (e.kind === "step") this.line(e.message);
    else if (e.kind === "nodes-ready")
      this.count("nodes Ready", e.ready, e.desired, `(registered ${e.registered}, ${e.seconds}s)`);
    else this.endCount();
  }

  private countBar: cliProgress.SingleBar | undefined;
  private countLineAt = 0;
  private countLast = "";

  /**
   * Shows progress toward a count (nodes Ready): a bar on a terminal, otherwise a line when the
   * figures change (at most every 5 s) so CI logs stay short.
   */
  count(label: string, value: number, total: number, detail: string): void {
    if (this.quiet) return;
    if (this.tty) {
      if (!this.countBar) {
        this.countBar = new cliProgress.SingleBar(
          { format: `  ${label} [{bar}] {value}/{total} {detail}`, hideCursor: true, stream: process.stderr },
          cliProgress.Presets.shades_classic,
        );
        this.countBar.start(total, value, { detail });
      }
      this.countBar.setTotal(total);
      this.countBar.update(value, { detail });
      return;
    }
    const text = `  ${label} ${value}/${total} ${detail}`;
    const now = Date.now();
    if (text !== this.countLast && (now - this.countLineAt >= 5_000 || value === total)) {
      this.countLast = text;
      this.countLineAt = now;
      process.stderr.write(`${text}\n`);
    }
  }

  /** Ends a count bar (after its last update). */
  endCount(): void {
    this.countBar?.stop();
    this.countBar = undefined;
    this.countLast = "";
    this.countLineAt = 0;
  }

  /** Ends any bar in progress. */
  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
    this.endCount();
  }
}
