import { describe, expect, it } from "vitest";
import {
  MAX_NAME_LENGTH,
  confirmNameMatches,
  initialWizard,
  needsTypedName,
  restoreFinishedWords,
  restoreTarget,
  suggestFreeName,
  wizardReducer,
  type Artifact,
  type RestorePreview,
  type WizardAction,
  type WizardState,
} from "./wizard";

const preview = { token: "tok", confirm_name: "dev-data" } as RestorePreview;

function run(state: WizardState, ...actions: WizardAction[]): WizardState {
  return actions.reduce(wizardReducer, state);
}

describe("wizardReducer", () => {
  it("walks pick → target → preview → confirm → follow", () => {
    const state = run(
      initialWizard(),
      { type: "pick", artifactId: "a1" },
      { type: "previewed", preview },
      { type: "continue" },
      { type: "confirmed", jobId: "j1" },
    );
    expect(state.step).toBe("follow");
    expect(state.jobId).toBe("j1");
    expect(state.artifactId).toBe("a1");
  });

  it("starts at the target step with ?artifact and at follow with ?job", () => {
    expect(initialWizard({ artifact: "a1" })).toMatchObject({ step: "target", artifactId: "a1" });
    // the backup of the current data stays linked when the page follows the job from its URL
    expect(initialWizard({ job: "j1", backupJob: "b1" })).toMatchObject({ step: "follow", jobId: "j1", backupJobId: "b1" });
    expect(initialWizard({ job: "j1" })).toMatchObject({ step: "follow", jobId: "j1" });
  });

  it("goes back one step at a time, keeping the preview only for the confirm step", () => {
    const confirm = run(initialWizard({ artifact: "a1" }), { type: "previewed", preview }, { type: "continue" });
    const atPreview = wizardReducer(confirm, { type: "back" });
    expect(atPreview).toMatchObject({ step: "preview", preview });
    const atTarget = wizardReducer(atPreview, { type: "back" });
    expect(atTarget).toMatchObject({ step: "target", preview: null, artifactId: "a1" });
    expect(wizardReducer(atTarget, { type: "back" })).toEqual(initialWizard());
  });

  it("cannot go back from following a restore", () => {
    const follow = initialWizard({ job: "j1" });
    expect(wizardReducer(follow, { type: "back" })).toBe(follow);
  });

  it("does not continue without a preview", () => {
    const target = initialWizard({ artifact: "a1" });
    expect(wizardReducer(target, { type: "continue" })).toBe(target);
  });

  it("sends an expired token back to the preview step with the message", () => {
    const confirm = run(initialWizard({ artifact: "a1" }), { type: "previewed", preview }, { type: "continue" });
    const state = wizardReducer(confirm, { type: "tokenRejected", message: "expired" });
    expect(state).toMatchObject({ step: "preview", preview: null, notice: "expired", artifactId: "a1" });
    const again = wizardReducer(state, { type: "previewed", preview });
    expect(again).toMatchObject({ step: "preview", preview, notice: null });
  });

  it("drops the preview when the target changes", () => {
    const state = run(initialWizard({ artifact: "a1" }), { type: "previewed", preview }, { type: "mode", mode: "new" });
    expect(state.preview).toBeNull();
  });
});

describe("confirmNameMatches", () => {
  it("matches only the exact name", () => {
    expect(confirmNameMatches("dev-data", "dev-data")).toBe(true);
    expect(confirmNameMatches("dev-data ", "dev-data")).toBe(false);
    expect(confirmNameMatches("DEV-DATA", "dev-data")).toBe(false);
    expect(confirmNameMatches("", "")).toBe(false);
    expect(confirmNameMatches("x", undefined)).toBe(false);
  });
});

describe("restoreTarget", () => {
  const volume = { kind: "volume", role: "dev-data", resource: { kind: "container", name: "dev-app" } } as Artifact;
  const config = { kind: "config", role: "config", resource: { kind: "container", name: "dev-app" } } as Artifact;

  it("restores over the original with replace and stop allowed (the preview shows the impact)", () => {
    expect(restoreTarget(volume, "original", "")).toEqual({
      kind: "volume",
      name: "dev-data",
      replace_existing: true,
      allow_stop: true,
      same_storage_as_original: false,
    });
    expect(restoreTarget(config, "original", "")?.name).toBe("dev-app");
  });

  it("restores to a new name without touching what exists", () => {
    expect(restoreTarget(config, "new", " copy ")).toEqual({
      kind: "container",
      name: "copy",
      replace_existing: false,
      allow_stop: false,
      same_storage_as_original: false,
    });
  });

  it("asks for the original's storage only for a new volume, and only when chosen", () => {
    expect(restoreTarget(volume, "new", "copy")).toEqual({
      kind: "volume",
      name: "copy",
      replace_existing: false,
      allow_stop: false,
      same_storage_as_original: false,
    });
    expect(restoreTarget(volume, "new", "copy", true)?.same_storage_as_original).toBe(true);
    expect(restoreTarget(volume, "original", "", true)?.same_storage_as_original).toBe(false);
    expect(restoreTarget(config, "new", "copy", true)?.same_storage_as_original).toBe(false);
  });

  it("drops the preview when the storage choice changes", () => {
    const state = run(initialWizard({ artifact: "a1" }), { type: "previewed", preview }, { type: "sameStorage", value: true });
    expect(state).toMatchObject({ preview: null, sameStorage: true });
  });

  it("has no target for a bind mount archive", () => {
    expect(restoreTarget({ ...volume, kind: "bind" }, "original", "")).toBeNull();
  });
});

describe("a restore into a new name", () => {
  it("prefills a suggested free name when New is chosen, and keeps one the user typed", () => {
    const chosen = run(initialWizard({ artifact: "a1" }), { type: "mode", mode: "new", suggestedName: "dev-data-restored" });
    expect(chosen).toMatchObject({ mode: "new", newName: "dev-data-restored" });
    const typed = run(chosen, { type: "newName", name: "mine" }, { type: "mode", mode: "original" });
    expect(run(typed, { type: "mode", mode: "new", suggestedName: "dev-data-restored" }).newName).toBe("mine");
  });

  it("suggests <original>-restored, or the next number nothing on the host uses", () => {
    expect(suggestFreeName("dev-data", ["dev-data"])).toBe("dev-data-restored");
    expect(suggestFreeName("dev-data", ["dev-data", "dev-data-restored", "dev-data-restored-2"])).toBe(
      "dev-data-restored-3",
    );
    const long = suggestFreeName("x".repeat(MAX_NAME_LENGTH), []);
    expect(long).toHaveLength(MAX_NAME_LENGTH);
    expect(long.endsWith("-restored")).toBe(true);
  });

  it("needs no typed name when nothing is overwritten, only then", () => {
    expect(needsTypedName({ confirm_name: null })).toBe(false);
    expect(needsTypedName({ confirm_name: "dev-data" })).toBe(true);
  });

  it("says a new volume was created, not that it is back", () => {
    const job = { resource_kind: "volume", resource_name: "dev-data-restored" };
    const created = restoreFinishedWords(job, [{ message: "restored into volume dev-data-restored as a new object" }]);
    expect(created).toBe(
      "The restore finished: volume dev-data-restored was created with the restored data; the original was not touched.",
    );
    expect(restoreFinishedWords(job, [{ message: "restored into volume dev-data replacing the existing one" }])).toBe(
      "The restore finished: volume dev-data-restored now holds the restored data.",
    );
    expect(restoreFinishedWords(job, [])).not.toContain("is back");
  });
});

describe("backing up the current data first", () => {
  it("is on by default and sent with the preview; changing it drops the preview", () => {
    expect(initialWizard().backupFirst).toBe(true);
    const state = run(initialWizard({ artifact: "a1" }), { type: "previewed", preview }, { type: "backupFirst", value: false });
    expect(state).toMatchObject({ preview: null, backupFirst: false });
  });
});
