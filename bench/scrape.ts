/**
 * The real metrics-server scraping hollow nodes (issue 19): what serving it costs one engine
 * process, and whether metrics-server keeps up.
 *
 *   npm run bench:scrape -- [--nodes 1000] [--settle 30] [--window 120] [--out NAME|PATH]
 *
 * Starts its own local cluster (`up --load-test`) in a temporary state directory, runs one engine
 * with a kubelet endpoint per node (`--kubelet-port`), measures an idle window, then starts
 * metrics-server as `up --metrics-server` does (its flags, `--metric-resolution=15s`) and measures
 * a window of its scraping: the engine's CPU and RSS (per node, and scraped / idle), the API
 * server's and metrics-server's CPU and RSS, metrics-server's own series (round duration, requests
 * to kubelets and their failures, when it last reached each node), the metrics API polled every
 * round (every node listed, samples fresh), `kubectl top nodes`, and the reviews the engine's
 * endpoints asked the API server for. Writes results/<NAME>.json and .md (default scrape-<nodes>).
 *
 * The parts: `scrape/args.ts` (flags), `scrape/run.ts` (the run), `scrape/figures.ts` (what the
 * scraped text says), `scrape/report.ts` (the printout).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { dirname } from "node:path";
import { ROOT } from "../test/harness.ts";
import { UsageError } from "./lib/flag-values.ts";
import { SCRAPE_USAGE, parseScrapeArgs } from "./scrape/args.ts";
import { reportLines } from "./scrape/report.ts";
import { runScrape } from "./scrape/run.ts";

/** The entry point: flags, usage, exit status. */
async function main(argv: readonly string[]): Promise<void> {
  let args;
  try {
    args = parseScrapeArgs(argv, process.env, process.cwd(), ROOT);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(2);
  }
  if (args.help) {
    process.stdout.write(SCRAPE_USAGE);
    process.exit(0);
  }
  const { options } = args;
  const load = `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(", ")}`;
  const result = await runScrape(options);
  const command = `npm run bench:scrape -- ${argv.join(" ")}`.trim();
  const file = options.resultsFile;
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify({ command, load, ...result }, null, 2) + "\n");
  const lines = reportLines(result, command, load);
  await writeFile(file.replace(/\.json$/, "") + ".md", lines.join("\n") + "\n");
  for (const line of lines) console.log(line);
  console.log(`JSON: ${file}`);
}

if (import.meta.main) await main(process.argv.slice(2));
