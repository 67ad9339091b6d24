// The results at a glance: one SVG of horizontal bar panels, written by hand
// (no dependency). waitlock's bars are blue, the peers' grey, p99 bars light.
// usage (to redraw from saved results): node bench/chart.mjs bench/results/results.json > results.svg
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { median } from "./stats.mjs";

const COLORS = { waitlock: "#1f6fb2", peer: "#9aa4ae", p99: "#9cc3e6", peer99: "#d0d5da" };
const PANEL_W = 520;
const LABEL_W = 200;
const BAR_AREA = 250;
const BAR_H = 13;
const GAP = 5;

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function short(n) {
  if (!Number.isFinite(n)) return "n/a";
  if (n >= 10_000) return `${(n / 1000).toFixed(1)}k`;
  if (n >= 100) return n.toFixed(0);
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/**
 * panel draws one titled group of rows at (x, y); each row has a label and one
 * or more bars {value, kind}. Returns [svg, height].
 */
function panel({ title, unit, rows, error }, x, y) {
  const parts = [`<text x="${x}" y="${y + 14}" class="title">${esc(title)}</text>`];
  let cy = y + 26;
  if (error || rows.length === 0) {
    parts.push(`<text x="${x}" y="${cy + 12}" class="note">not measured${error ? `: ${esc(error.slice(0, 70))}` : ""}</text>`);
    return [parts.join("\n"), 50];
  }
  const top = Math.max(...rows.flatMap((r) => r.bars.map((b) => b.value)).filter(Number.isFinite), 1e-9);
  for (const row of rows) {
    const h = row.bars.length * BAR_H + (row.bars.length - 1) * 2;
    parts.push(`<text x="${x + LABEL_W - 6}" y="${cy + h / 2 + 4}" class="label" text-anchor="end">${esc(row.label)}</text>`);
    row.bars.forEach((b, i) => {
      const by = cy + i * (BAR_H + 2);
      const w = Number.isFinite(b.value) ? Math.max(1, (b.value / top) * BAR_AREA) : 0;
      parts.push(`<rect x="${x + LABEL_W}" y="${by}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${COLORS[b.kind]}"/>`);
      parts.push(`<text x="${x + LABEL_W + w + 4}" y="${by + BAR_H - 2}" class="value">${esc(short(b.value))}${b.suffix ? ` ${esc(b.suffix)}` : ""}</text>`);
    });
    cy += h + GAP;
  }
  parts.push(`<text x="${x + LABEL_W}" y="${cy + 10}" class="note">${esc(unit)}</text>`);
  return [parts.join("\n"), cy + 16 - y];
}

const kindOf = (name) => (name.startsWith("waitlock") ? "waitlock" : "peer");

/** panels turns the saved results into panel descriptions; a failed section becomes a "not measured" panel. */
function panels(results) {
  const s = results.sections ?? {};
  const out = [];
  const section = (key, title, unit, build) => {
    const sec = s[key];
    if (!sec || sec.error || !sec.data) out.push({ title, unit, rows: [], error: sec?.error ?? "section not run" });
    else out.push({ title, unit, rows: build(sec.data) });
  };
  section("cli", "CLI round trip (median)", "ms, wall clock, lower is better", (d) =>
    Object.entries(d.results).map(([name, r]) => ({ label: name, bars: [{ value: r.median, kind: kindOf(name) }] })),
  );
  section("handover", "Hand-over latency (p50, p99)", "ms from release to the next waiter proceeding, lower is better", (d) =>
    Object.entries(d).map(([k, r]) => ({
      label: `${k.startsWith("cli") ? "CLI --exec" : "library"}, ${k.endsWith("m1") ? "mutex" : "semaphore of 3"}`,
      bars: [
        { value: r.p50, kind: "waitlock", suffix: "p50" },
        { value: r.p99, kind: "p99", suffix: "p99" },
      ],
    })),
  );
  section("contention", "Contended throughput (library, K processes)", "acquisitions per second, higher is better", (d) =>
    Object.values(d).map((r) => ({ label: `${r.maxHolders === 1 ? "mutex" : "semaphore of 3"}, K = ${r.k}`, bars: [{ value: r.perSecond, kind: "waitlock" }] })),
  );
  section("contention", "Fairness under contention (wait per acquire)", "ms, p99 and max of single acquire() calls, lower is better", (d) =>
    Object.values(d).map((r) => ({
      label: `${r.maxHolders === 1 ? "mutex" : "semaphore of 3"}, K = ${r.k}`,
      bars: [
        { value: r.p99, kind: "waitlock", suffix: "p99" },
        { value: r.max, kind: "p99", suffix: "max" },
      ],
    })),
  );
  section("uncontended", "Library, uncontended (median)", "acquire + release pairs per second, one process, higher is better", (d) =>
    Object.entries(d.median).map(([name, v]) => ({ label: name, bars: [{ value: v, kind: kindOf(name) }] })),
  );
  section("scale", "10 000 lock files in the directory", "ms, wall clock, lower is better", (d) =>
    Object.entries(d.cli).map(([name, r]) => ({ label: name, bars: [{ value: r.median, kind: "waitlock" }] })),
  );
  section("memory", "Memory (peak RSS)", "MiB, lower is better", (d) => [
    { label: "waitlock, waiting", bars: [{ value: d.waitingCli.waitlockPeakKiB / 1024, kind: "waitlock" }] },
    { label: "flock, waiting", bars: [{ value: d.waitingCli.flockPeakKiB / 1024, kind: "peer" }] },
    { label: "node -e 0", bars: [{ value: d.waitingCli.nodeFloorPeakKiB / 1024, kind: "peer" }] },
    { label: "foreground holder", bars: [{ value: d.foreground.holderHwmKiB / 1024, kind: "waitlock" }] },
    ...Object.entries(d.holding).map(([k, r]) => ({ label: r.label, bars: [{ value: r.hwmKiB / 1024, kind: kindOf(k) }] })),
  ]);
  // The server sections run only where their servers are installed: drawn when run, not as "not run".
  if (s.redis) {
    section("redis", "Redis, library: acquire + release (median)", "pairs per second, one process, higher is better", (d) =>
      Object.entries(d.pairs).map(([name, v]) => ({ label: name, bars: [{ value: median(v), kind: kindOf(name) }] })),
    );
    section("redis", "Redis, library hand-over (p50, p99)", "ms from release() to the other process's grant, lower is better", (d) =>
      Object.entries(d.handOver).map(([name, r]) => ({
        label: name,
        bars: [
          { value: r.p50, kind: kindOf(name), suffix: "p50" },
          { value: r.p99, kind: name.startsWith("waitlock") ? "p99" : "peer99", suffix: "p99" },
        ],
      })),
    );
  }
  return out;
}

/** renderChart returns the whole SVG document for saved results (see bench/run.mjs). */
export function renderChart(results) {
  const ps = panels(results);
  const cols = 2;
  const margin = 16;
  const header = 46;
  const colHeights = Array(cols).fill(header);
  const body = [];
  for (const p of ps) {
    const c = colHeights.indexOf(Math.min(...colHeights)); // shortest column next
    const [svg, h] = panel(p, margin + c * (PANEL_W + margin), colHeights[c]);
    body.push(svg);
    colHeights[c] += h + 18;
  }
  const width = margin + cols * (PANEL_W + margin);
  const height = Math.max(...colHeights) + 8;
  const m = results.meta ?? {};
  const sub = [m.date?.slice(0, 10), m.node && `Node ${m.node}`, m.cpus && `${m.cpus} CPUs`, m.cpuModel, m.loadavgStart && `load ${m.loadavgStart.map((v) => v.toFixed(1)).join(" ")}`]
    .filter(Boolean)
    .join(" · ");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif">
<style>
  .h1 { font-size: 17px; font-weight: 600; fill: #222; }
  .title { font-size: 13px; font-weight: 600; fill: #222; }
  .label { font-size: 11px; fill: #333; }
  .value { font-size: 10px; fill: #444; }
  .note { font-size: 10px; fill: #777; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="${margin}" y="22" class="h1">waitlock benchmarks</text>
<text x="${margin}" y="38" class="note">${esc(sub)} · blue = waitlock, grey = peers · medians of several runs (bench/README.md)</text>
${body.join("\n")}
</svg>
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(renderChart(JSON.parse(readFileSync(process.argv[2], "utf8"))));
}
