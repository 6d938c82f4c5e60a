// Small building blocks every page uses; styles in styles.css.
import type { ReactNode } from "react";
import { Link } from "react-router-dom";

export function Page({ title, actions, children }: { title: string; actions?: ReactNode; children: ReactNode }) {
  return (
    <section className="page">
      <header className="page-header">
        <h1>{title}</h1>
        {actions ? <div className="page-actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}

export function Card({ title, children, className }: { title?: ReactNode; children: ReactNode; className?: string }) {
  return (
    <div className={`card ${className ?? ""}`}>
      {title ? <h2 className="card-title">{title}</h2> : null}
      {children}
    </div>
  );
}

/** What an empty list says: why it is empty and what to do next. */
export function EmptyState({ children, action }: { children: ReactNode; action?: { to: string; label: string } }) {
  return (
    <div className="empty" role="status">
      <p>{children}</p>
      {action ? (
        <Link className="button primary" to={action.to}>
          {action.label}
        </Link>
      ) : null}
    </div>
  );
}

/** A labelled form field with the API's message for it underneath. */
export function Field({
  label,
  error,
  hint,
  children,
  htmlFor,
}: {
  label: string;
  error?: string | null;
  hint?: ReactNode;
  children: ReactNode;
  htmlFor?: string;
}) {
  return (
    <div className={`field ${error ? "has-error" : ""}`}>
      <label htmlFor={htmlFor}>{label}</label>
      {children}
      {hint ? <div className="hint">{hint}</div> : null}
      {error ? (
        <div className="field-error" role="alert">
          {error}
        </div>
      ) : null}
    </div>
  );
}

export function ErrorBanner({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="banner error" role="alert">
      {message}
    </div>
  );
}

export function Notice({ kind = "info", children }: { kind?: "info" | "warning" | "success"; children: ReactNode }) {
  return <div className={`banner ${kind}`}>{children}</div>;
}

export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <div className="loading" aria-busy="true">
      {what}…
    </div>
  );
}

const STATUS_CLASS: Record<string, string> = {
  succeeded: "ok",
  online: "ok",
  protected: "ok",
  verified: "ok",
  running: "busy",
  queued: "idle",
  failed: "bad",
  offline: "bad",
  unprotected: "warn",
  cancelled: "idle",
  disabled: "idle",
};

export function StatusBadge({ status, label }: { status: string; label?: string }) {
  return <span className={`badge ${STATUS_CLASS[status] ?? "idle"}`}>{label ?? status}</span>;
}

export function ProgressBar({ done, total }: { done: number; total: number | null | undefined }) {
  const fraction = total ? Math.min(1, done / total) : null;
  return (
    <div
      className={`progress ${fraction === null ? "indeterminate" : ""}`}
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={fraction === null ? undefined : Math.round(fraction * 100)}
    >
      <div className="progress-fill" style={{ width: fraction === null ? "30%" : `${fraction * 100}%` }} />
    </div>
  );
}

/** "Load more" for the API's cursor pages. */
export function MoreButton({ hasMore, loading, onMore }: { hasMore: boolean; loading: boolean; onMore: () => void }) {
  if (!hasMore) return null;
  return (
    <div className="more">
      <button type="button" onClick={onMore} disabled={loading}>
        {loading ? "Loading…" : "Load more"}
      </button>
    </div>
  );
}
