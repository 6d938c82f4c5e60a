// Who is logged in and what they may do, for every page: GET /auth/permissions lists the
// routes the caller's role may use (the same table the API enforces), so a button shows only
// when its request would be allowed.
import { createContext, useCallback, useContext, useEffect, useMemo, type ReactNode } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router-dom";
import { api, setSessionLostHandler } from "../api/client";

export interface Session {
  username: string;
  role: string;
  mustChangePassword: boolean;
  /** The MFA policy requires a second factor this user has not set up: nothing else until then. */
  mustEnrolMfa: boolean;
  mfaEnabled: boolean;
  allowed: ReadonlySet<string>;
}

interface SessionState {
  session: Session | null;
  loading: boolean;
  /** Read the session again (after login, a password change, an MFA change). */
  reload: () => Promise<unknown>;
  logout: () => Promise<void>;
}

const SessionContext = createContext<SessionState | null>(null);
export const SESSION_KEY = ["session"] as const;

async function loadSession(): Promise<Session | null> {
  const permissions = await api.GET("/auth/permissions");
  if (permissions.response.status === 401) return null;
  if (!permissions.data) throw new Error(`could not read the session (${permissions.response.status})`);
  const me = await api.GET("/users/me");
  if (!me.data) return null;
  return {
    username: me.data.username,
    role: permissions.data.role,
    mustChangePassword: permissions.data.must_change_password,
    mustEnrolMfa: permissions.data.must_enrol_mfa ?? false,
    mfaEnabled: me.data.mfa_enabled,
    allowed: new Set(permissions.data.allowed),
  };
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const client = useQueryClient();
  const navigate = useNavigate();
  const query = useQuery({ queryKey: SESSION_KEY, queryFn: loadSession, staleTime: 60_000, retry: 1 });

  useEffect(() => {
    setSessionLostHandler(() => {
      client.setQueryData(SESSION_KEY, null);
      const here = window.location.pathname + window.location.search;
      if (!here.startsWith("/login")) navigate(`/login?next=${encodeURIComponent(here)}`, { replace: true });
    });
  }, [client, navigate]);

  const reload = useCallback(() => client.invalidateQueries({ queryKey: SESSION_KEY }), [client]);
  const logout = useCallback(async () => {
    await api.POST("/auth/logout");
    client.clear();
    client.setQueryData(SESSION_KEY, null);
    navigate("/login", { replace: true });
  }, [client, navigate]);

  const value = useMemo(
    () => ({ session: query.data ?? null, loading: query.isPending, reload, logout }),
    [query.data, query.isPending, reload, logout],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (!state) throw new Error("useSession outside SessionProvider");
  return state;
}

/** Whether the caller may use a route, e.g. can("POST", "/jobs"). Path as in the API document. */
export function useCan(): (method: string, path: string) => boolean {
  const { session } = useSession();
  return useCallback((method, path) => session?.allowed.has(`${method} ${path}`) ?? false, [session]);
}
