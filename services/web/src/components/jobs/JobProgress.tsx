// A running job's bar with the bytes done, and of the total with a percentage when the host knows it.
import { formatBytes } from "../../lib/format";
import { percentDone } from "../../lib/jobFigures";
import { ProgressBar } from "../ui";

export function JobProgress({ done, total, phase }: { done: number; total: number | null | undefined; phase?: string }) {
  const percent = percentDone(done, total);
  return (
    <div className="job-progress">
      <ProgressBar done={done} total={total} />
      <span className="hint">
        {phase ? `${phase}: ` : ""}
        {formatBytes(done)}
        {percent !== null ? ` of ${formatBytes(total)} (${percent}%)` : ""}
      </span>
    </div>
  );
}
