// A checksum people can compare: shortened in the table, in full on hover, copied with a click.
import { useState } from "react";
import { copyText } from "../../lib/clipboard";

export function shortSha(sha256: string): string {
  return sha256.slice(0, 12);
}

export function Sha256({ value }: { value: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    if (await copyText(value)) {
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } else {
      // no clipboard (plain http): show the full value, selectable
      window.prompt("sha256", value);
    }
  };
  return (
    <span className="sha256">
      <code title={value}>{shortSha(value)}…</code>{" "}
      <button type="button" className="small" onClick={() => void copy()} aria-label={`Copy sha256 ${shortSha(value)}`}>
        {copied ? "Copied" : "Copy"}
      </button>
    </span>
  );
}
