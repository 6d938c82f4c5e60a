import { useParams } from "react-router-dom";
import { JobDetailView } from "../components/jobs/JobDetailView";

/** /jobs/:jobId: one job, live while it runs. */
export function JobDetailPage() {
  const { jobId } = useParams();
  return <JobDetailView key={jobId} jobId={jobId ?? ""} />;
}
