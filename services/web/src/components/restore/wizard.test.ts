import { describe, expect, it } from "vitest";
import {
  confirmNameMatches,
  initialWizard,
  restoreTarget,
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
