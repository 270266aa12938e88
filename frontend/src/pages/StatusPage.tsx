import { useCallback, useEffect, useState } from "react";
import { api, describeFailure } from "../api/http";
import type { AbReport, Deployments } from "../api/types";
import { AbReportView } from "../components/AbReportView";
import { Notice } from "../components/Notice";

const REFRESH_MS = 15000;

export function StatusPage() {
  const [deployments, setDeployments] = useState<Deployments | null>(null);
  const [report, setReport] = useState<AbReport | null>(null);
  const [errors, setErrors] = useState<{ deployments?: string; report?: string }>({});
  const [updated, setUpdated] = useState<Date | null>(null);

  const load = useCallback(async () => {
    const [d, r] = await Promise.allSettled([api.get("/api/platform/deployments"), api.get("/api/reports/ab")]);
    if (d.status === "fulfilled") setDeployments(d.value);
    if (r.status === "fulfilled") setReport(r.value);
    setErrors({
      deployments: d.status === "rejected" ? describeFailure(d.reason) : undefined,
      report: r.status === "rejected" ? describeFailure(r.reason) : undefined,
    });
    setUpdated(new Date());
  }, []);

  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [load]);

  return (
    <div className="status-page">
      <div className="page-head">
        <h1>Platform status</h1>
        <div className="status-row">
          {updated && <span className="muted">Updated {updated.toLocaleTimeString()}</span>}
          <button type="button" onClick={() => void load()}>
            Refresh
          </button>
        </div>
      </div>
      {errors.deployments && (
        <Notice tone="error" title="Deployments could not be read">
          <p>{errors.deployments}</p>
        </Notice>
      )}
      {deployments && (
        <section className="card" aria-labelledby="dep-title" data-testid="deployments">
          <h2 id="dep-title">TutorDeployments</h2>
          <p className="muted">
            Source: {deployments.source}
            {deployments.updated_at ? ` · published ${deployments.updated_at}` : ""}
          </p>
          <div className="table-scroll">
            <table>
              <caption className="sr-only">Deployments with weights, replicas, sessions and rollout</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Version</th>
                  <th scope="col">Revision</th>
                  <th scope="col">Weights</th>
                  <th scope="col">Replicas (ready)</th>
                  <th scope="col">Active sessions</th>
                  <th scope="col">Rollout step</th>
                  <th scope="col">Last analysis</th>
                </tr>
              </thead>
              <tbody>
                {deployments.deployments.map((d) => (
                  <tr key={`${d.name}-${d.variant ?? ""}`} data-testid="deployment-row">
                    <th scope="row">{d.name}</th>
                    <td>{d.variant ?? "–"}</td>
                    <td>{d.revision ?? "–"}</td>
                    <td>
                      {Object.entries(d.weights ?? {})
                        .map(([k, v]) => `${k} ${v}%`)
                        .join(" · ") || "–"}
                    </td>
                    <td>
                      {d.replicas ?? "–"} ({d.ready_replicas ?? "–"})
                    </td>
                    <td>{d.active_sessions ?? "–"}</td>
                    <td>{d.rollout_step ?? "–"}</td>
                    <td>
                      {d.last_analysis ? <Analysis value={d.last_analysis} /> : "–"}
                      {d.unavailable_reason && <span className="error-text"> Unavailable: {d.unavailable_reason}</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
      {errors.report && (
        <Notice tone="error" title="The A/B report could not be built">
          <p>{errors.report}</p>
        </Notice>
      )}
      {report && <AbReportView report={report} />}
    </div>
  );
}

function Analysis({ value }: { value: Record<string, unknown> }) {
  const result = String(value.result ?? value.outcome ?? value.phase ?? "");
  const reason = value.reason ?? value.message;
  return (
    <span className={`analysis analysis-${result.toLowerCase()}`}>
      {result || "recorded"}
      {typeof reason === "string" && reason ? `: ${reason}` : ""}
    </span>
  );
}
