// Recovery codes, shown only once: copy them, download them, then confirm they are saved.
import { useState } from "react";
import { copyText } from "../../lib/clipboard";
import { Notice } from "../ui";

function download(codes: readonly string[], username: string) {
  const text = [
    `DockBack recovery codes for ${username}`,
    "Each code logs you in once when you cannot use your authenticator app.",
    "",
    ...codes,
    "",
  ].join("\n");
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = `dockback-recovery-codes-${username}.txt`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1_000);
}

export function RecoveryCodesOnce({
  codes,
  username,
  onSaved,
}: {
  codes: readonly string[];
  username: string;
  onSaved: () => void;
}) {
  const [copied, setCopied] = useState<"yes" | "failed" | null>(null);

  async function copy() {
    setCopied((await copyText(codes.join("\n"))) ? "yes" : "failed");
  }

  return (
    <div>
      <Notice kind="warning">
        Save these recovery codes now: they are shown only this once. Each one logs you in once if you lose your
        authenticator app. Older codes no longer work.
      </Notice>
      <ul className="codes recovery-codes" data-testid="recovery-codes">
        {codes.map((code) => (
          <li key={code}>{code}</li>
        ))}
      </ul>
      <div className="form-actions">
        <button type="button" onClick={() => void copy()}>
          Copy
        </button>
        <button type="button" onClick={() => download(codes, username)}>
          Download
        </button>
        <button type="button" className="primary" onClick={onSaved}>
          I have saved these codes
        </button>
        {copied === "yes" ? <span className="muted" role="status">Copied.</span> : null}
        {copied === "failed" ? (
          <span className="muted" role="status">
            The browser did not allow copying; select the codes or download them.
          </span>
        ) : null}
      </div>
    </div>
  );
}
