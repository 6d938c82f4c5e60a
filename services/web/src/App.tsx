import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { createBrowserRouter, Navigate, Route, RouterProvider, Routes, useLocation } from "react-router-dom";
import { useState, type ReactNode } from "react";
import { ApiError } from "./api/errors";
import { SessionProvider, useSession } from "./auth/session";
import { UnsavedChangesGuard } from "./components/formGuard";
import { Layout } from "./components/Layout";
import { Loading } from "./components/ui";
import { AccountPage } from "./pages/Account";
import { AuditPage } from "./pages/Audit";
import { BackupsPage } from "./pages/Backups";
import { ChangePasswordPage } from "./pages/ChangePassword";
import { DashboardPage } from "./pages/Dashboard";
import { EnrolMfaPage } from "./pages/EnrolMfa";
import { JobDetailPage } from "./pages/JobDetail";
import { JobsPage } from "./pages/Jobs";
import { LoginPage } from "./pages/Login";
import { PlanEditPage } from "./pages/PlanEdit";
import { PlansPage } from "./pages/Plans";
import { ResourcesPage } from "./pages/Resources";
import { RestorePage } from "./pages/Restore";
import { SettingsPage } from "./pages/Settings";
import { UsersPage } from "./pages/Users";

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        // A refused request (4xx) will be refused again; only server and network trouble is retried.
        retry: (count, error) => count < 2 && !(error instanceof ApiError && error.status < 500),
      },
    },
  });
}

/** Pages behind the login; the forced password change comes before everything else, then the
 * second factor the MFA policy requires. */
function RequireSession({ children }: { children: ReactNode }) {
  const { session, loading } = useSession();
  const location = useLocation();
  if (loading) return <Loading what="Checking your session" />;
  if (!session) {
    const next = location.pathname + location.search;
    return <Navigate to={next === "/" ? "/login" : `/login?next=${encodeURIComponent(next)}`} replace />;
  }
  if (session.mustChangePassword && location.pathname !== "/change-password") {
    return <Navigate to="/change-password" replace />;
  }
  if (!session.mustChangePassword && session.mustEnrolMfa && location.pathname !== "/enrol-mfa") {
    return <Navigate to="/enrol-mfa" replace />;
  }
  return <>{children}</>;
}

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route
        path="/change-password"
        element={
          <RequireSession>
            <ChangePasswordPage />
          </RequireSession>
        }
      />
      <Route
        path="/enrol-mfa"
        element={
          <RequireSession>
            <EnrolMfaPage />
          </RequireSession>
        }
      />
      <Route
        element={
          <RequireSession>
            <Layout />
          </RequireSession>
        }
      >
        <Route index element={<DashboardPage />} />
        <Route path="resources" element={<ResourcesPage />} />
        <Route path="plans" element={<PlansPage />} />
        <Route path="plans/new" element={<PlanEditPage />} />
        <Route path="plans/:planId" element={<PlanEditPage />} />
        <Route path="jobs" element={<JobsPage />} />
        <Route path="jobs/:jobId" element={<JobDetailPage />} />
        <Route path="backups" element={<BackupsPage />} />
        <Route path="restore" element={<RestorePage />} />
        <Route path="settings" element={<SettingsPage />} />
        <Route path="users" element={<UsersPage />} />
        <Route path="audit" element={<AuditPage />} />
        <Route path="account" element={<AccountPage />} />
        <Route path="*" element={<Navigate to="/" replace />} />
      </Route>
    </Routes>
  );
}

/** A data router (its blocker asks before unsaved changes are dropped) around the routes above. */
function makeRouter() {
  return createBrowserRouter([
    {
      path: "*",
      element: (
        <SessionProvider>
          <UnsavedChangesGuard>
            <AppRoutes />
          </UnsavedChangesGuard>
        </SessionProvider>
      ),
    },
  ]);
}

export function App() {
  const [client] = useState(makeQueryClient);
  const [router] = useState(makeRouter);
  return (
    <QueryClientProvider client={client}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  );
}
