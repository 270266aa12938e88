import { useEffect, useRef } from "react";
import { speakerLabel } from "../lib/speakers";
import type { TranscriptEntry } from "../student/sessionState";

/** The live transcript; new lines are announced politely to screen readers (role="log"). */
export function TranscriptPanel({ entries, emptyText }: { entries: TranscriptEntry[]; emptyText?: string }) {
  const end = useRef<HTMLLIElement>(null);
  useEffect(() => {
    end.current?.scrollIntoView?.({ block: "nearest" });
  }, [entries]);
  return (
    <section className="transcript" aria-labelledby="transcript-title">
      <h2 id="transcript-title">Conversation</h2>
      {entries.length === 0 ? (
        <p className="muted">{emptyText ?? "Nothing yet. Ask a question to begin."}</p>
      ) : null}
      {/* The log is a wrapper: role="log" on the list itself would strip its list semantics. */}
      <div role="log" aria-live="polite" aria-relevant="additions text" data-testid="transcript">
        <ol>
          {entries.map((e) => (
            <li key={e.id} className={`turn turn-${e.speaker}`} data-speaker={e.speaker} data-testid="transcript-turn">
              <span className="turn-speaker">{speakerLabel(e.speaker)}</span>
              <span className="turn-text">
                {e.text}
                {!e.final && <span className="typing" aria-hidden="true"> …</span>}
              </span>
              {e.checks.length > 0 && (
                <span className="turn-checks">
                  {e.checks.map((c) => (
                    <span key={c} className="chip" data-testid="turn-check">
                      {c}
                    </span>
                  ))}
                </span>
              )}
            </li>
          ))}
          <li ref={end} aria-hidden="true" className="transcript-end" />
        </ol>
      </div>
    </section>
  );
}
