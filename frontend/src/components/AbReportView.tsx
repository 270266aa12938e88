import type { AbReport, Estimate, VariantReport } from "../api/types";
import { formatEstimate, formatValue, type Unit } from "../lib/format";

interface Metric {
  key: keyof Pick<VariantReport, "latency_p50_ms" | "latency_p95_ms" | "cost_per_session_usd" | "escalation_rate" | "guardrail_block_rate">;
  label: string;
  unit: Unit;
}

export const METRICS: Metric[] = [
  { key: "latency_p50_ms", label: "Typical response time (p50)", unit: "ms" },
  { key: "latency_p95_ms", label: "Slow responses (p95)", unit: "ms" },
  { key: "cost_per_session_usd", label: "Cost per session", unit: "usd" },
  { key: "escalation_rate", label: "Escalation rate", unit: "rate" },
  { key: "guardrail_block_rate", label: "Guardrail block rate", unit: "rate" },
];

/** Two intervals on one scale: overlapping bars mean "no clear difference yet". */
export function CiBars({ a, b, unit, label }: { a: Estimate; b: Estimate; unit: Unit; label: string }) {
  const values = [a, b].flatMap((e) => [e.ci_low, e.ci_high, e.value]).filter((v): v is number => v !== null && Number.isFinite(v));
  if (values.length === 0) return null;
  const max = Math.max(...values) * 1.1 || 1;
  const x = (v: number) => 8 + (v / max) * 284;
  const row = (e: Estimate, y: number, cls: string, name: string) =>
    e.value === null ? null : (
      <g className={cls}>
        {e.ci_low !== null && e.ci_high !== null && <line x1={x(e.ci_low)} x2={x(e.ci_high)} y1={y} y2={y} strokeWidth={6} strokeLinecap="round" />}
        <circle cx={x(e.value)} cy={y} r={5} />
        <text x={x(e.value)} y={y - 9} textAnchor="middle">
          {name}
        </text>
      </g>
    );
  return (
    <svg className="ci-bars" viewBox="0 0 300 64" role="img" aria-label={`${label}: A ${formatEstimate(a, unit)}; B ${formatEstimate(b, unit)}`}>
      <line x1={8} x2={292} y1={58} y2={58} className="axis" />
      <text x={8} y={63} className="axis-label">
        0
      </text>
      <text x={292} y={63} textAnchor="end" className="axis-label">
        {formatValue(max, unit)}
      </text>
      {row(a, 24, "ci-a", "A")}
      {row(b, 46, "ci-b", "B")}
    </svg>
  );
}

export function AbReportView({ report }: { report: AbReport }) {
  const byVariant = new Map(report.variants.map((v) => [v.variant, v]));
  const a = byVariant.get("A");
  const b = byVariant.get("B");
  return (
    <section className="card ab-report" aria-labelledby="ab-title" data-testid="ab-report">
      <h2 id="ab-title">A/B report · {report.deployment}</h2>
      <p className={`verdict ${report.enough_data ? "verdict-ready" : "verdict-wait"}`} data-testid="ab-verdict">
        <strong>Verdict:</strong> {report.verdict}
      </p>
      {report.findings.length > 0 && (
        <ul className="findings" data-testid="ab-findings">
          {report.findings.map((f) => (
            <li key={f}>{f}</li>
          ))}
        </ul>
      )}
      {!report.enough_data && (
        <p className="muted">
          Each version needs at least {report.min_sessions} sessions before differences are called. Intervals are 95% confidence intervals.
        </p>
      )}
      <div className="table-scroll">
        <table className="report-table">
          <caption className="sr-only">Per-version figures with 95% confidence intervals</caption>
          <thead>
            <tr>
              <th scope="col">Measure</th>
              <th scope="col">Version A</th>
              <th scope="col">Version B</th>
              <th scope="col" className="hide-narrow">
                Intervals
              </th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <th scope="row">Sessions (turns)</th>
              <td data-testid="sessions-A">
                {a?.sessions ?? 0} ({a?.turns ?? 0})
              </td>
              <td data-testid="sessions-B">
                {b?.sessions ?? 0} ({b?.turns ?? 0})
              </td>
              <td className="hide-narrow" />
            </tr>
            {METRICS.map((m) => (
              <tr key={m.key} data-testid={`metric-${m.key}`}>
                <th scope="row">{m.label}</th>
                <td>{a ? formatEstimate(a[m.key], m.unit) : "no data yet"}</td>
                <td>{b ? formatEstimate(b[m.key], m.unit) : "no data yet"}</td>
                <td className="hide-narrow">{a && b && <CiBars a={a[m.key]} b={b[m.key]} unit={m.unit} label={m.label} />}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
