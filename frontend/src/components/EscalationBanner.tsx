import type { EscalationState, Hint } from "../student/sessionState";

export function EscalationBanner({ escalation, teacherPresent }: { escalation: EscalationState; teacherPresent: string | null }) {
  if (escalation.status === "none" && !teacherPresent) return null;
  const acknowledged = escalation.status === "acknowledged";
  return (
    <div
      className={`banner ${acknowledged || teacherPresent ? "banner-success" : "banner-warn"}`}
      role="status"
      aria-live="assertive"
      data-testid="escalation-banner"
      data-status={escalation.status}
    >
      {escalation.status !== "none" && <p>{escalation.message}</p>}
      {teacherPresent && (
        <p data-testid="teacher-presence">
          <strong>{teacherPresent}</strong> is with you.
        </p>
      )}
    </div>
  );
}

export function HintList({ hints }: { hints: Hint[] }) {
  if (hints.length === 0) return null;
  return (
    <section className="hints" aria-labelledby="hints-title">
      <h2 id="hints-title">Hints from your teacher</h2>
      <ul aria-live="polite">
        {hints.map((h) => (
          <li key={h.id} data-testid="hint">
            <strong>{h.teacher}:</strong> {h.text}
          </li>
        ))}
      </ul>
    </section>
  );
}
