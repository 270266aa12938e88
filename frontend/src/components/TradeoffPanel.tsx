import type { TradeoffMoment } from "../lib/tradeoffs";

/** A vs B, explained when the difference just happened in this session. */
export function TradeoffPanel({
  moment,
  history,
  onDismiss,
  onReopen,
}: {
  moment: TradeoffMoment | null;
  history: TradeoffMoment[];
  onDismiss: () => void;
  onReopen: (topic: string) => void;
}) {
  const earlier = history.filter((m) => m.topic !== moment?.topic);
  if (!moment && earlier.length === 0) return null;
  return (
    <aside className="tradeoff" aria-labelledby="tradeoff-title" data-testid="tradeoff-panel" data-topic={moment?.topic ?? ""}>
      {moment ? (
        <>
          <h2 id="tradeoff-title">Why A and B differ: {moment.title}</h2>
          <p className="tradeoff-measured" data-testid="tradeoff-measured">
            <strong>Just now (version {moment.variant}):</strong> {moment.measured}
          </p>
          <div className="tradeoff-columns">
            <div className={moment.variant === "A" ? "tradeoff-col current" : "tradeoff-col"}>
              <h3>Version A · agent pool</h3>
              <p>{moment.a}</p>
            </div>
            <div className={moment.variant === "B" ? "tradeoff-col current" : "tradeoff-col"}>
              <h3>Version B · gateway</h3>
              <p>{moment.b}</p>
            </div>
          </div>
          <button type="button" className="link-button" onClick={onDismiss} data-testid="tradeoff-dismiss">
            Hide
          </button>
        </>
      ) : (
        <h2 id="tradeoff-title">Why A and B differ</h2>
      )}
      {earlier.length > 0 && (
        <div className="tradeoff-history" data-testid="tradeoff-history">
          <span className="muted">Earlier in this session:</span>
          {earlier.map((m) => (
            <button key={m.topic} type="button" className="link-button" data-topic={m.topic} onClick={() => onReopen(m.topic)}>
              {m.title}
            </button>
          ))}
        </div>
      )}
    </aside>
  );
}
