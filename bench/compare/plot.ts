/**
 * Plots for bench/compare.ts: grouped bar charts drawn as SVG and rendered to PNG with resvg
 * (no browser, no native graphics stack to install).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Resvg } from "@resvg/resvg-js";

const COLORS: Record<string, string> = { "hollow-node": "#2b7bb9", kubemark: "#d9534f", kwok: "#5cb85c" };

interface Series {
  name: string;
  values: Array<number | null>;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
}

/** A grouped bar chart (one group per category, one bar per series), optionally on a log scale. */
export function barChart(opts: {
  title: string;
  unit: string;
  categories: string[];
  series: Series[];
  log?: boolean;
}): string {
  const W = 800;
  const H = 420;
  const m = { l: 80, r: 20, t: 50, b: 70 };
  const all = opts.series.flatMap((s) => s.values).filter((v): v is number => v !== null && v > 0);
  const max = Math.max(...all, 1e-9);
  const min = opts.log ? Math.min(...all, max) : 0;
  const lo = opts.log ? Math.floor(Math.log10(min)) : 0;
  const hi = opts.log ? Math.ceil(Math.log10(max)) || lo + 1 : max * 1.1;
  const y = (v: number): number => {
    const f = opts.log ? (Math.log10(v) - lo) / Math.max(1, hi - lo) : v / hi;
    return H - m.b - f * (H - m.t - m.b);
  };
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, Arial, sans-serif" font-size="13">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="28" text-anchor="middle" font-size="16" font-weight="bold">${esc(opts.title)}</text>`,
  ];
  const ticks = opts.log
    ? Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i))
    : Array.from({ length: 6 }, (_, i) => (hi * i) / 5);
  for (const t of ticks) {
    const ty = y(Math.max(t, opts.log ? 10 ** lo : 0));
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${ty}" y2="${ty}" stroke="#ddd"/>`);
    const label = t >= 1000 ? t.toExponential(0) : t >= 1 ? String(Number(t.toFixed(1))) : t.toPrecision(1);
    parts.push(`<text x="${m.l - 6}" y="${ty + 4}" text-anchor="end">${label}</text>`);
  }
  parts.push(
    `<text x="18" y="${H / 2}" transform="rotate(-90 18 ${H / 2})" text-anchor="middle">${esc(opts.unit)}${opts.log ? " (log)" : ""}</text>`,
  );
  const gw = (W - m.l - m.r) / Math.max(1, opts.categories.length);
  const bw = (gw * 0.8) / Math.max(1, opts.series.length);
  opts.categories.forEach((c, ci) => {
    const gx = m.l + ci * gw + gw * 0.1;
    parts.push(`<text x="${gx + gw * 0.4}" y="${H - m.b + 20}" text-anchor="middle">${esc(c)}</text>`);
    opts.series.forEach((s, si) => {
      const v = s.values[ci];
      const x = gx + si * bw;
      if (v === null || v === undefined || v <= 0) {
        parts.push(
          `<text x="${x + bw / 2}" y="${H - m.b - 4}" text-anchor="middle" font-size="10" fill="#888">n/a</text>`,
        );
        return;
      }
      const top = y(v);
      parts.push(
        `<rect x="${x}" y="${top}" width="${bw - 2}" height="${H - m.b - top}" fill="${COLORS[s.name] ?? "#777"}"/>`,
        `<text x="${x + bw / 2}" y="${top - 4}" text-anchor="middle" font-size="10">${v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toPrecision(2)}</text>`,
      );
    });
  });
  opts.series.forEach((s, si) => {
    const lx = m.l + si * 150;
    parts.push(
      `<rect x="${lx}" y="${H - 30}" width="14" height="14" fill="${COLORS[s.name] ?? "#777"}"/>`,
      `<text x="${lx + 20}" y="${H - 18}">${esc(s.name)}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n");
}

/** Renders an SVG document to PNG. */
export function toPng(svg: string): Buffer {
  return Buffer.from(new Resvg(svg, { font: { loadSystemFonts: true } }).render().asPng());
}

interface CostLike {
  system: string;
  nodes: number;
  rssPerNodeKB: number;
  mCpuPerNode: number;
  readySeconds: number | null;
  note?: string;
}
interface PodLike {
  system: string;
  latencyP50Seconds: number | null;
  latencyP99Seconds: number | null;
}

/** Writes the four plots of a comparison run into `dir`. */
export async function renderPlots(dir: string, cost: CostLike[], pods: PodLike[]): Promise<void> {
  const systems = [...new Set(cost.map((r) => r.system))];
  const sizes = [...new Set(cost.map((r) => r.nodes))].sort((a, b) => a - b);
  const pick = (f: (r: CostLike) => number | null): Series[] =>
    systems.map((s) => ({
      name: s,
      values: sizes.map((n) => {
        const r = cost.find((x) => x.system === s && x.nodes === n && !x.note);
        return r ? f(r) : null;
      }),
    }));
  const categories = sizes.map((n) => `${n} nodes`);
  const charts: Array<[string, string]> = [
    [
      "memory-per-node.png",
      barChart({
        title: "RSS per node",
        unit: "KB per node",
        categories,
        series: pick((r) => r.rssPerNodeKB),
        log: true,
      }),
    ],
    [
      "cpu-per-node.png",
      barChart({
        title: "CPU per idle node",
        unit: "mCPU per node",
        categories,
        series: pick((r) => r.mCpuPerNode),
        log: true,
      }),
    ],
    [
      "time-to-ready.png",
      barChart({
        title: "Time until all nodes Ready",
        unit: "seconds",
        categories,
        series: pick((r) => r.readySeconds),
      }),
    ],
    [
      "pod-latency.png",
      barChart({
        title: "Pod bound -> Running latency",
        unit: "seconds",
        categories: ["p50", "p99"],
        series: pods.map((p) => ({ name: p.system, values: [p.latencyP50Seconds, p.latencyP99Seconds] })),
      }),
    ],
  ];
  for (const [file, svg] of charts) await writeFile(join(dir, file), toPng(svg));
}
