import { NavLink, Outlet } from "react-router-dom";
import { useCan, useSession } from "../auth/session";

interface NavItem {
  to: string;
  label: string;
  /** The route the page reads: the link shows only when the role may use it. */
  needs: string;
}

const NAV: NavItem[] = [
  { to: "/", label: "Dashboard", needs: "GET /jobs" },
  { to: "/resources", label: "Resources", needs: "GET /resources/volumes" },
  { to: "/plans", label: "Plans", needs: "GET /plans" },
  { to: "/jobs", label: "Jobs", needs: "GET /jobs" },
  { to: "/backups", label: "Backups", needs: "GET /artifacts" },
  { to: "/restore", label: "Restore", needs: "POST /restores/preview" },
  { to: "/settings", label: "Settings", needs: "GET /settings" },
  { to: "/users", label: "Users", needs: "GET /users" },
  { to: "/audit", label: "Audit log", needs: "GET /audit" },
  { to: "/account", label: "Account", needs: "GET /users/me" },
];

export function Layout() {
  const { session, logout } = useSession();
  const can = useCan();
  return (
    <div className="shell">
      <nav className="sidebar" aria-label="Main">
        <div className="brand">DockBack</div>
        <ul>
          {NAV.filter((item) => {
            const [m, p] = item.needs.split(" ");
            return can(m, p);
          }).map((item) => (
            <li key={item.to}>
              <NavLink to={item.to} end={item.to === "/"}>
                {item.label}
              </NavLink>
            </li>
          ))}
        </ul>
        <div className="whoami">
          <div>
            <strong>{session?.username}</strong> <span className="muted">({session?.role})</span>
          </div>
          <button type="button" className="link" onClick={() => void logout()}>
            Log out
          </button>
        </div>
      </nav>
      <main className="content">
        <Outlet />
      </main>
    </div>
  );
}
