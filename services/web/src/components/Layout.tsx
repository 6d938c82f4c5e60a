import { useEffect, useRef, useState } from "react";
import { NavLink, Outlet, useLocation } from "react-router-dom";
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

const NAV_ITEMS_ID = "main-nav-items";

/** The sidebar; on a narrow screen (layout.css) it folds behind a Menu button, and folds again
 *  when the user picks a page (or goes back) or presses Escape. */
export function Layout() {
  const { session, logout } = useSession();
  const can = useCan();
  const [open, setOpen] = useState(false);
  const toggle = useRef<HTMLButtonElement>(null);
  const { pathname } = useLocation();
  useEffect(() => setOpen(false), [pathname]);
  return (
    <div className="shell">
      <nav
        className={`sidebar ${open ? "open" : ""}`}
        aria-label="Main"
        onKeyDown={(event) => {
          if (event.key === "Escape" && open) {
            setOpen(false);
            toggle.current?.focus();
          }
        }}
      >
        <div className="sidebar-top">
          <div className="brand">DockBack</div>
          <button
            ref={toggle}
            type="button"
            className="nav-toggle"
            aria-expanded={open}
            aria-controls={NAV_ITEMS_ID}
            onClick={() => setOpen(!open)}
          >
            Menu
          </button>
        </div>
        <div className="nav-items" id={NAV_ITEMS_ID}>
          <ul>
            {NAV.filter((item) => {
              const [m, p] = item.needs.split(" ");
              return can(m, p);
            }).map((item) => (
              <li key={item.to}>
                <NavLink to={item.to} end={item.to === "/"} onClick={() => setOpen(false)}>
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
        </div>
      </nav>
      <main className="content">
        <Outlet />
      </main>
    </div>
  );
}
