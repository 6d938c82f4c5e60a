// The second factor the MFA policy requires, set up before anything else (like the forced
// password change): the user sees only this page until an authenticator is confirmed.
import { useNavigate } from "react-router-dom";
import { useSession } from "../auth/session";
import { MfaSection } from "../components/account/MfaSection";
import "../components/account/account.css";

export function EnrolMfaPage() {
  const { session, logout } = useSession();
  const navigate = useNavigate();
  const enrolled = session !== null && !session.mustEnrolMfa;

  return (
    <div className="auth-screen">
      <div className="auth-card">
        <div className="auth-brand">DockBack</div>
        <h1>Set up two-factor authentication</h1>
        {enrolled ? (
          <p>Two-factor authentication is on. Keep your recovery codes somewhere safe, then go on.</p>
        ) : (
          <p>
            An admin requires a second factor for the {session?.role ?? "your"} role. Set up an authenticator app
            before you go on; until then nothing else is available.
          </p>
        )}
        <MfaSection />
        <div className="form-actions">
          {enrolled ? (
            <button type="button" className="primary" onClick={() => navigate("/", { replace: true })}>
              Continue to DockBack
            </button>
          ) : null}
          <button type="button" className="link" onClick={() => void logout()}>
            Log out
          </button>
        </div>
      </div>
    </div>
  );
}
