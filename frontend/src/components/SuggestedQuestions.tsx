import { subjectLabel } from "../lib/speakers";
import { SUGGESTIONS } from "../lib/suggestions";

export function SuggestedQuestions({ onPick, disabled }: { onPick: (text: string) => void; disabled?: boolean }) {
  return (
    <section className="suggestions" aria-labelledby="suggestions-title">
      <h2 id="suggestions-title">Try asking</h2>
      <ul>
        {SUGGESTIONS.map((s) => (
          <li key={s.text}>
            <button type="button" disabled={disabled} onClick={() => onPick(s.text)} data-testid="suggested-question">
              <span className={`dot subject-${s.subject}`} aria-hidden="true" />
              <span className="sr-only">{subjectLabel(s.subject)}: </span>
              {s.text}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
