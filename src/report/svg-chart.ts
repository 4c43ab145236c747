/**
 * Small SVG charts for the report page: line (and step) charts and horizontal bars, as markup
 * strings with no script and no dependency, so the page stays one self-contained file.
 */

/** Escapes text for HTML and SVG. */
export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** One line of a chart. */
export interface LineSeries {
  readonly name: string;
  readonly color: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
  /** Draw as steps (a CDF) instead of straight segments. */
  readonly step?: boolean;
}

const W = 720;
const H = 300;
const M = { l: 64, r: 16, t: 36, b: 46 };

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 || Number.isInteger(v)
    ? String(Math.round(v))
    : v.toPrecision(2).replace(/\.?0+$/, "");
}

/** A line chart with axes, a legend and an optional dashed limit (horizontal `yLimit` or vertical `xLimit`). */
export function lineChart(opts: {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  xLimit?: { value: number; label: string };
  yLimit?: { value: number; label: string };
  xTick?: (v: number) => string;
  yMax?: number;
}): string {
  const all = opts.series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const x0 = xs.length ? Math.min(...xs) : 0;
  let x1 = xs.length ? Math.max(...xs) : 1;
  if (opts.xLimit) x1 = Math.max(x1, opts.xLimit.value * 1.1);
  if (x1 === x0) x1 = x0 + 1;
  const yTop =
    opts.yMax ??
    niceMax(Math.max(...all.map((p) => p[1]).filter(Number.isFinite), opts.yLimit?.value ?? 0, 0));
  const px = (x: number): number => M.l + ((x - x0) / (x1 - x0)) * (W - M.l - M.r);
  const py = (y: number): number => H - M.b - (Math.min(y, yTop) / yTop) * (H - M.t - M.b);
  const parts: string[] = [];
  parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" class="t">${esc(opts.title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const y = (yTop * i) / 4;
    parts.push(
      `<line x1="${M.l}" x2="${W - M.r}" y1="${py(y)}" y2="${py(y)}" class="g"/><text x="${M.l - 6}" y="${py(y) + 4}" text-anchor="end">${fmt(y)}</text>`,
    );
    const x = x0 + ((x1 - x0) * i) / 4;
    parts.push(
      `<text x="${px(x)}" y="${H - M.b + 16}" text-anchor="middle">${esc(opts.xTick ? opts.xTick(x) : fmt(x))}</text>`,
    );
  }
  parts.push(
    `<line x1="${M.l}" x2="${W - M.r}" y1="${H - M.b}" y2="${H - M.b}" class="a"/><line x1="${M.l}" x2="${M.l}" y1="${M.t}" y2="${H - M.b}" class="a"/>`,
    `<text x="${W / 2}" y="${H - 8}" text-anchor="middle">${esc(opts.xLabel)}</text>`,
    `<text transform="translate(16 ${H / 2}) rotate(-90)" text-anchor="middle">${esc(opts.yLabel)}</text>`,
  );
  if (opts.yLimit) {
    const y = py(opts.yLimit.value);
    parts.push(
      `<line x1="${M.l}" x2="${W - M.r}" y1="${y}" y2="${y}" class="lim"/><text x="${W - M.r - 4}" y="${y - 4}" text-anchor="end" class="limt">${esc(opts.yLimit.label)}</text>`,
    );
  }
  if (opts.xLimit) {
    const x = px(opts.xLimit.value);
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${M.t}" y2="${H - M.b}" class="lim"/><text x="${x + 4}" y="${M.t + 12}" class="limt">${esc(opts.xLimit.label)}</text>`,
    );
  }
  opts.series.forEach((s, i) => {
    if (s.points.length === 0) return;
    let d = "";
    s.points.forEach(([x, y], j) => {
      if (j === 0) d += `M${px(x).toFixed(1)},${py(y).toFixed(1)}`;
      else if (s.step) d += `H${px(x).toFixed(1)}V${py(y).toFixed(1)}`;
      else d += `L${px(x).toFixed(1)},${py(y).toFixed(1)}`;
    });
    parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    if (s.points.length <= 60 && !s.step) {
      for (const [x, y] of s.points)
        parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
    }
    parts.push(
      `<rect x="${M.l + 8 + i * 170}" y="${M.t - 2}" width="10" height="10" fill="${s.color}"/><text x="${M.l + 22 + i * 170}" y="${M.t + 7}">${esc(s.name)}</text>`,
    );
  });
  return svg(opts.id, parts);
}

/** Horizontal bars (one per label) against a per-bar limit, values on a log scale. */
export function barChart(opts: {
  id: string;
  title: string;
  xLabel: string;
  bars: ReadonlyArray<{ label: string; value: number; limit: number; color: string; text: string }>;
}): string {
  const rowH = 18;
  const h = M.t + 10 + opts.bars.length * rowH + 40;
  const left = 230;
  const lo = 0.001;
  const hi = Math.max(60, ...opts.bars.map((b) => b.value).filter(Number.isFinite));
  const px = (v: number): number =>
    left +
    ((Math.log10(Math.max(lo, Math.min(v, hi))) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) *
      (W - left - 80);
  const parts: string[] = [
    `<text x="${W / 2}" y="20" text-anchor="middle" class="t">${esc(opts.title)}</text>`,
  ];
  for (const t of [0.001, 0.01, 0.1, 1, 10, 60]) {
    parts.push(
      `<line x1="${px(t)}" x2="${px(t)}" y1="${M.t}" y2="${h - 36}" class="g"/><text x="${px(t)}" y="${h - 22}" text-anchor="middle">${fmt(t)}</text>`,
    );
  }
  opts.bars.forEach((b, i) => {
    const y = M.t + 6 + i * rowH;
    parts.push(
      `<text x="${left - 6}" y="${y + 12}" text-anchor="end">${esc(b.label)}</text>`,
      `<rect x="${left}" y="${y + 2}" width="${Math.max(1, px(b.value) - left).toFixed(1)}" height="${rowH - 5}" fill="${b.color}"/>`,
      `<line x1="${px(b.limit)}" x2="${px(b.limit)}" y1="${y}" y2="${y + rowH - 1}" class="lim"/>`,
      `<text x="${Math.min(px(b.value), W - 120) + 4}" y="${y + 12}">${esc(b.text)}</text>`,
    );
  });
  parts.push(`<text x="${W / 2}" y="${h - 6}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  return svg(opts.id, parts, h);
}

function svg(id: string, parts: readonly string[], h = H): string {
  return `<svg id="${esc(id)}" class="plot" role="img" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" xmlns="http://www.w3.org/2000/svg">${parts.join("")}</svg>`;
}
