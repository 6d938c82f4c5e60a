// Where an archive's bytes are: on its host (local) and in S3 targets (verified remote copies).
import type { Schemas } from "../../api/client";
import { StatusBadge } from "../ui";

type Artifact = Schemas["ArtifactOut"];

export function localState(artifact: Pick<Artifact, "local_present" | "state">): { status: string; label: string } {
  if (artifact.state === "pruned") return { status: "disabled", label: "local: pruned" };
  if (artifact.state === "pruning") return { status: "queued", label: "local: pruning" };
  return artifact.local_present ? { status: "succeeded", label: "local" } : { status: "failed", label: "local: missing" };
}

export function Copies({ artifact }: { artifact: Artifact }) {
  const local = localState(artifact);
  return (
    <span className="copies">
      <StatusBadge status={local.status} label={local.label} />{" "}
      <StatusBadge
        status={artifact.copies > 0 ? "succeeded" : "disabled"}
        label={artifact.copies === 1 ? "1 remote" : `${artifact.copies} remote`}
      />
    </span>
  );
}
