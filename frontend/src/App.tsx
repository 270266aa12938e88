import { useEffect, useRef } from "react";
import { AuthProvider, useAuth } from "./auth";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { Notice } from "./components/Notice";
import { SignInPage } from "./pages/SignInPage";
import { StatusPage } from "./pages/StatusPage";
import { StudentPage } from "./pages/StudentPage";
import { TeacherPage } from "./pages/TeacherPage";
import { homeFor, navigate, type RouteName, routeOf, useLocation } from "./router";

const TITLES: Record<RouteName, string> = {
  signin: "Sign in",
  student: "Your tutor",
  teacher: "Teacher console",
  status: "Platform status",
  notfound: "Page not found",
};

const ALLOWED: Record<RouteName, string[] | null> = {
  signin: null,
  student: ["student"],
  teacher: ["teacher"],
  status: ["teacher", "admin"],
  notfound: null,
};

export function App() {
  return (
    <AuthProvider>
      <Shell />
    </AuthProvider>
  );
}

function Shell() {
  const { user, config, loading, error, signOut, retry } = useAuth();
  const { pathname } = useLocation();
  const route = routeOf(pathname);
  const mainRef = useRef<HTMLElement>(null);

  useEffect(() => {
    document.title = `${TITLES[route]} · Tutorplane`;
  }, [route]);

  useEffect(() => {
    if (loading) return;
    const allowed = ALLOWED[route];
    if (allowed && !user) navigate(`/signin?next=${encodeURIComponent(pathname)}`, true);
    else if (allowed && user && !allowed.includes(user.role)) navigate(homeFor(user.role), true);
  }, [route, user, loading, pathname]);

  // After a navigation (not on the first load, where Tab starts at the skip link), move focus to
  // the new page's heading so screen readers announce it.
  const firstPage = useRef<string | null>(null);
  useEffect(() => {
    if (loading) return;
    if (firstPage.current === null) {
      firstPage.current = route;
      return;
    }
    const heading = mainRef.current?.querySelector("h1");
    if (heading instanceof HTMLElement) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  }, [route, loading]);

  let page;
  if (loading) page = <p className="muted">Loading…</p>;
  else if (error)
    page = (
      <Notice tone="error" title="The tutor service can't be reached">
        <p>{error}</p>
        <button type="button" onClick={retry}>
          Try again
        </button>
      </Notice>
    );
  else if (route === "signin") page = <SignInPage />;
  else if (route === "student" && user?.role === "student") page = <StudentPage />;
  else if (route === "teacher" && user?.role === "teacher") page = <TeacherPage />;
  else if (route === "status" && user && user.role !== "student") page = <StatusPage />;
  else if (route === "notfound")
    page = (
      <>
        <h1>Page not found</h1>
        <p>
          <a href="/" onClick={(e) => (e.preventDefault(), navigate("/"))}>
            Go to the start page
          </a>
        </p>
      </>
    );
  else page = <p className="muted">Redirecting…</p>;

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to main content
      </a>
      <header className="app-header">
        <a className="brand" href="/" onClick={(e) => (e.preventDefault(), navigate(user ? homeFor(user.role) : "/"))}>
          Tutorplane
        </a>
        {config?.offline && (
          <span className="badge badge-offline" title="Model calls go to the local emulators" data-testid="offline-badge">
            Offline mode
          </span>
        )}
        <nav aria-label="Main">
          {user?.role === "student" && <NavLink to="/student" label="Tutor" current={route === "student"} />}
          {user?.role === "teacher" && <NavLink to="/teacher" label="Teacher console" current={route === "teacher"} />}
          {user && user.role !== "student" && <NavLink to="/status" label="Platform status" current={route === "status"} />}
        </nav>
        {user && (
          <div className="who">
            <span data-testid="signed-in-as">
              {user.display_name} <span className="muted">({user.role})</span>
            </span>
            <button type="button" className="link-button" onClick={() => void signOut().then(() => navigate("/"))}>
              Sign out
            </button>
          </div>
        )}
      </header>
      <main id="main" ref={mainRef}>
        <ErrorBoundary area={route}>{page}</ErrorBoundary>
      </main>
    </>
  );
}

function NavLink({ to, label, current }: { to: string; label: string; current: boolean }) {
  return (
    <a
      href={to}
      aria-current={current ? "page" : undefined}
      onClick={(e) => {
        e.preventDefault();
        navigate(to);
      }}
    >
      {label}
    </a>
  );
}
