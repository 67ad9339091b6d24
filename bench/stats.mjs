// Small statistics helpers for the benchmarks.
export function quantile(values, q) {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i];
}
export const median = (v) => quantile(v, 0.5);
export const mean = (v) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);
export const max = (v) => (v.length ? Math.max(...v) : NaN);
export const fmt = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");

/** summary: the numbers the tables print for a sample of latencies or waits. */
export function summary(values) {
  return { n: values.length, p50: quantile(values, 0.5), p99: quantile(values, 0.99), max: max(values) };
}
