import { Component, type ErrorInfo, type ReactNode } from "react";
import { reportError } from "../api/telemetry";

interface Props {
  area: string;
  children: ReactNode;
}

/** A crash in one view shows a way out instead of a blank page, and is reported to the gateway. */
export class ErrorBoundary extends Component<Props, { error: Error | null }> {
  state = { error: null as Error | null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo): void {
    reportError(error, "react.render", { area: this.props.area, component: (info.componentStack ?? "").trim().split("\n")[0] ?? "" });
  }

  componentDidUpdate(previous: Props): void {
    if (previous.area !== this.props.area && this.state.error) this.setState({ error: null });
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <div className="notice notice-error" role="alert">
        <h1>Something went wrong on this page</h1>
        <p>It has been reported. You can try again; your session on the server is not lost.</p>
        <button type="button" onClick={() => this.setState({ error: null })}>
          Try again
        </button>
      </div>
    );
  }
}
