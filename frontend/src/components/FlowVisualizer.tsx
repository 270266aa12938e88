import { type FlowState, activeStep } from "../lib/flow";
import { formatMs } from "../lib/format";

/** The pipeline of the current turn, lit up by the real server events. */
export function FlowVisualizer({ flow }: { flow: FlowState }) {
  const active = activeStep(flow);
  return (
    <section className="flow" aria-labelledby="flow-title" data-testid="flow-visualizer" data-variant={flow.variant}>
      <h2 id="flow-title">
        How this answer is made <span className="muted">(version {flow.variant})</span>
      </h2>
      <ol className="flow-steps">
        {flow.steps.map((step) => (
          <li
            key={step.id}
            className={`flow-step flow-${step.status}`}
            data-testid={`flow-step-${step.id}`}
            data-status={step.status}
            data-active={step.id === active ? "true" : undefined}
            aria-current={step.id === active ? "step" : undefined}
          >
            <span className="flow-label">{step.label}</span>
            {step.detail && <span className="flow-detail">{step.detail}</span>}
            {step.latencyMs !== undefined && (
              <span className="flow-latency" title="Time from the start of the turn">
                at {formatMs(step.latencyMs)}
              </span>
            )}
          </li>
        ))}
      </ol>
      {flow.escalated && <p className="flow-note">A teacher was asked to help with this turn.</p>}
      {flow.latencies?.total !== undefined && (
        <p className="flow-note" data-testid="flow-total">
          Turn {flow.outcome}: {formatMs(flow.latencies.total)} in total
          {flow.latencies.first_sentence !== undefined && <>, first checked sentence after {formatMs(flow.latencies.first_sentence)}</>}
          {flow.latencies.first_audio !== undefined && <>, first audio after {formatMs(flow.latencies.first_audio)}</>}.
        </p>
      )}
    </section>
  );
}
