import type { SessionClose } from "../api/types";
import { formatMs } from "../lib/format";
import { subjectLabel } from "../lib/speakers";

type Report = Record<string, unknown>;

function num(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function subjectsOf(report: Report): Array<[string, number]> {
  const raw = report.subjects ?? report.subject_mix;
  if (raw && typeof raw === "object" && !Array.isArray(raw)) {
    return Object.entries(raw as Record<string, unknown>)
      .map(([k, v]) => [k, num(v) ?? 0] as [string, number])
      .filter(([, n]) => n > 0);
  }
  return [];
}

function count(report: Report, ...keys: string[]): number | null {
  for (const key of keys) {
    const value = report[key];
    const n = num(value);
    if (n !== null) return n;
    if (value && typeof value === "object" && !Array.isArray(value)) {
      const inner = value as Record<string, unknown>;
      const total = num(inner.total) ?? num(inner.count);
      if (total !== null) return total;
    }
    if (Array.isArray(value)) return value.length;
  }
  return null;
}

function field(report: Report, path: string[]): unknown {
  let value: unknown = report;
  for (const key of path) {
    if (!value || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

export function SessionSummary({ summary, onRestart }: { summary: SessionClose; onRestart: () => void }) {
  const report = (summary.session_report ?? {}) as Report;
  const questions = num(field(report, ["turns", "student"])) ?? count(report, "turns", "turn_count");
  const answers = num(field(report, ["turns", "assistant"]));
  const typical = num(field(report, ["turns", "latency_p50_ms"]));
  const escalations = count(report, "escalations", "escalation_count");
  const duration = num(report.duration_s) ?? num(report.duration_seconds);
  const flagged = (num(field(report, ["guardrail", "rewritten"])) ?? 0) + (num(field(report, ["guardrail", "blocked"])) ?? 0) + (num(field(report, ["guardrail", "escalated"])) ?? 0);
  const checks = num(field(report, ["guardrail", "checks"]));
  const subjects = subjectsOf(report);
  return (
    <section className="card summary" aria-labelledby="summary-title" data-testid="session-summary">
      <h2 id="summary-title">Session finished: well done!</h2>
      <dl className="stats">
        {questions !== null && (
          <>
            <dt>Questions asked</dt>
            <dd data-testid="summary-questions">{questions}</dd>
          </>
        )}
        {answers !== null && (
          <>
            <dt>Answers</dt>
            <dd>{answers}</dd>
          </>
        )}
        {subjects.length > 0 && (
          <>
            <dt>Subjects</dt>
            <dd>{subjects.map(([s, n]) => `${subjectLabel(s)} (${n})`).join(", ")}</dd>
          </>
        )}
        {typical !== null && (
          <>
            <dt>Typical wait for an answer</dt>
            <dd>{formatMs(typical)}</dd>
          </>
        )}
        {duration !== null && (
          <>
            <dt>Time</dt>
            <dd>{formatMs(duration * 1000)}</dd>
          </>
        )}
        {escalations !== null && (
          <>
            <dt>Teacher requests</dt>
            <dd>{escalations}</dd>
          </>
        )}
        {checks !== null && (
          <>
            <dt>Safety checks</dt>
            <dd data-testid="summary-checks">
              {checks} ({flagged} acted on)
            </dd>
          </>
        )}
      </dl>
      <details>
        <summary>Full session report</summary>
        <pre className="report-json">{JSON.stringify(report, null, 2)}</pre>
      </details>
      <button type="button" className="primary" onClick={onRestart}>
        Start a new session
      </button>
    </section>
  );
}
