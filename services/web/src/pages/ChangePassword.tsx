// The forced password change at first login (or after an admin reset the password).
import { useNavigate } from "react-router-dom";
import { useSession } from "../auth/session";
import { PasswordChangeForm } from "../components/account/PasswordChangeForm";
import "../components/account/account.css";

export function ChangePasswordPage() {
  const { session, reload, logout } = useSession();
  const navigate = useNavigate();

  // The API keeps this session (it ends only the others), so reading the session again is enough.
  async function changed() {
    await reload();
    navigate("/", { replace: true });
  }

  return (
    <div className="auth-screen">
      <div className="auth-card">
        <div className="auth-brand">DockBack</div>
        <h1>Choose a new password</h1>
        <p>
          {session?.mustChangePassword
            ? `Welcome${session ? `, ${session.username}` : ""}. The password you logged in with was temporary: choose your own before you go on.`
            : "Choose a new password for your account."}
        </p>
        <PasswordChangeForm
          idPrefix="forced-password"
          onChanged={changed}
          extraActions={
            <button type="button" className="link" onClick={() => void logout()}>
              Log out
            </button>
          }
        />
      </div>
    </div>
  );
}
