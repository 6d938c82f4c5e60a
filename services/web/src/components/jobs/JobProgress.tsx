// A running job's bar with the bytes done (of the total when the host knows it).
import { formatBytes } from "../../lib/format";
import { ProgressBar } from "../ui";

export function JobProgress({ done, total, phase }: { done: number; total: number | null | undefined; phase?: string }) {
  return (
    <div className="job-progress">
      <ProgressBar done={done} total={total} />
      <span className="hint">
        {phase ? `${phase}: ` : ""}
        {formatBytes(done)}
        {total ? ` of ${formatBytes(total)}` : ""}
      </span>
    </div>
  );
}
