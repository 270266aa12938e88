/** Who is signed in, and the gateway's public configuration (offline mode, local login, LiveKit). */
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { api, ApiError, describeFailure } from "./api/http";
import type { PublicConfig, User } from "./api/types";

interface AuthValue {
  user: User | null;
  config: PublicConfig | null;
  loading: boolean;
  error: string | null;
  signIn: (login: { login?: string; user_id?: string }) => Promise<User>;
  signOut: () => Promise<void>;
  retry: () => void;
}

const AuthContext = createContext<AuthValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null>(null);
  const [config, setConfig] = useState<PublicConfig | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let cancelled = false;
    setLoading(true);
    (async () => {
      try {
        const cfg = await api.get("/api/config");
        let me: User | null = null;
        try {
          me = await api.get("/api/auth/me");
        } catch (e) {
          if (!(e instanceof ApiError && e.status === 401)) throw e;
        }
        if (!cancelled) {
          setConfig(cfg);
          setUser(me);
          setError(null);
        }
      } catch (e) {
        if (!cancelled) setError(describeFailure(e));
      } finally {
        if (!cancelled) setLoading(false);
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [attempt]);

  const signIn = useCallback(async (login: { login?: string; user_id?: string }) => {
    api.forgetCsrf();
    const result = await api.post("/api/auth/login", { body: login });
    api.setCsrf(result.csrf_token, result.expires_at);
    setUser(result.user);
    return result.user;
  }, []);

  const signOut = useCallback(async () => {
    try {
      await api.post("/api/auth/logout");
    } finally {
      api.forgetCsrf();
      setUser(null);
    }
  }, []);

  const value = useMemo(
    () => ({ user, config, loading, error, signIn, signOut, retry: () => setAttempt((n) => n + 1) }),
    [user, config, loading, error, signIn, signOut],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const value = useContext(AuthContext);
  if (!value) throw new Error("useAuth outside AuthProvider");
  return value;
}
