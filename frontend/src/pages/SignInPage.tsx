import { type FormEvent, useEffect, useState } from "react";
import { api, describeFailure } from "../api/http";
import type { DemoUser } from "../api/types";
import { useAuth } from "../auth";
import { Notice } from "../components/Notice";
import { homeFor, navigate } from "../router";

function nextPath(role: string): string {
  const next = new URLSearchParams(location.search).get("next");
  // Only same-site paths, never a full URL (no open redirect).
  if (next && next.startsWith("/") && !next.startsWith("//")) {
    if ((next.startsWith("/student") && role === "student") || (next.startsWith("/teacher") && role === "teacher") || (next.startsWith("/status") && role !== "student")) {
      return next;
    }
  }
  return homeFor(role);
}

export function SignInPage() {
  const { user, config, signIn } = useAuth();
  const [demoUsers, setDemoUsers] = useState<DemoUser[]>([]);
  const [login, setLogin] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!config?.local_login) return;
    api.get("/api/auth/demo-users").then(setDemoUsers, () => setDemoUsers([]));
  }, [config?.local_login]);

  const go = async (credentials: { login?: string; user_id?: string }) => {
    setBusy(true);
    setError(null);
    try {
      const signedIn = await signIn(credentials);
      navigate(nextPath(signedIn.role));
    } catch (e) {
      setError(describeFailure(e));
    } finally {
      setBusy(false);
    }
  };

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    if (login.trim()) void go({ login: login.trim() });
  };

  if (user) {
    return (
      <section className="narrow">
        <h1>Welcome back, {user.display_name}</h1>
        <p>
          <button type="button" className="primary" onClick={() => navigate(homeFor(user.role))}>
            Continue
          </button>
        </p>
      </section>
    );
  }

  return (
    <section className="narrow">
      <h1>Sign in to Tutorplane</h1>
      <p className="lead">A voice tutor for maths, history and English, with a real teacher one tap away.</p>
      {config && !config.local_login && (
        <Notice tone="info" title="Sign in with your school account">
          <p>This deployment uses the school's sign-in service. Open the link your school gave you.</p>
        </Notice>
      )}
      {config?.local_login && (
        <>
          {demoUsers.length > 0 && (
            <div className="card">
              <h2>Demo accounts</h2>
              <ul className="demo-users" aria-label="Demo accounts">
                {demoUsers.map((u) => (
                  <li key={u.user_id}>
                    <button type="button" disabled={busy} onClick={() => void go({ user_id: u.user_id })} data-testid={`login-${u.login}`}>
                      <span className="demo-name">{u.display_name}</span>
                      <span className={`badge badge-role-${u.role}`}>{u.role}</span>
                    </button>
                  </li>
                ))}
              </ul>
            </div>
          )}
          <form className="card" onSubmit={onSubmit}>
            <h2>Or type your name</h2>
            <label htmlFor="login-name">Name or e-mail</label>
            <div className="row">
              <input
                id="login-name"
                name="login"
                autoComplete="username"
                value={login}
                onChange={(e) => setLogin(e.target.value)}
                maxLength={200}
              />
              <button type="submit" className="primary" disabled={busy || !login.trim()}>
                Sign in
              </button>
            </div>
          </form>
        </>
      )}
      {error && (
        <Notice tone="error" title="Sign-in failed" testId="signin-error">
          <p>{error}</p>
        </Notice>
      )}
      <div className="card compare" aria-labelledby="compare-title">
        <h2 id="compare-title">Two ways to tutor, compared live</h2>
        <p>
          Every session is run by one of two architectures, assigned when it starts. The student view shows which one, and explains the
          difference at the moment it matters.
        </p>
        <dl className="compare-grid">
          <dt>Version A: agent pool</dt>
          <dd>LiveKit rooms; agents run speech-to-text, a specialist model and text-to-speech; the teacher can join the room.</dd>
          <dt>Version B: gateway</dt>
          <dd>The browser talks to OpenAI Realtime directly; maths and history go through the gateway, which checks and speaks each answer.</dd>
        </dl>
      </div>
    </section>
  );
}
