/** Number formatting for latencies, rates, costs and confidence intervals. */
import type { Estimate } from "../api/types";

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10000 ? 0 : 1)} s`;
  if (ms >= 100) return `${Math.round(ms)} ms`;
  return `${ms.toFixed(ms >= 10 ? 0 : 1)} ms`;
}

export function formatPercent(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return "–";
  const pct = rate * 100;
  return `${pct >= 10 || pct === 0 ? pct.toFixed(0) : pct.toFixed(1)}%`;
}

export function formatUsd(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  if (value === 0) return "$0";
  if (value < 0.01) return `$${value.toFixed(4)}`;
  return `$${value.toFixed(2)}`;
}

export type Unit = "ms" | "rate" | "usd";

export function formatValue(value: number | null | undefined, unit: Unit): string {
  if (unit === "ms") return formatMs(value);
  if (unit === "rate") return formatPercent(value);
  return formatUsd(value);
}

/** "230 ms (95% CI 210 ms – 260 ms, n = 40)", or "no data yet". */
export function formatEstimate(estimate: Estimate, unit: Unit): string {
  if (estimate.value === null || estimate.n === 0) return "no data yet";
  const point = formatValue(estimate.value, unit);
  if (estimate.ci_low === null || estimate.ci_high === null) return `${point} (n = ${estimate.n}; too few for an interval)`;
  return `${point} (95% CI ${formatValue(estimate.ci_low, unit)} – ${formatValue(estimate.ci_high, unit)}, n = ${estimate.n})`;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}
