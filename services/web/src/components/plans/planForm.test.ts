import { describe, expect, it } from "vitest";
import type { Schemas } from "../../api/client";
import {
  bodyFromForm,
  emptyTargets,
  errorUnder,
  formFromPlan,
  joinArgv,
  localErrors,
  newPlanForm,
  numberErrors,
  newPlanFormFromSearch,
  parseLabels,
  selectorsFromTargets,
  splitArgv,
  targetsFromSelectors,
  withinFromSeconds,
  withoutMessagesOf,
  type PlanForm,
} from "./planForm";

type Selector = Schemas["TargetSelectorIn"];

describe("targets ⇄ selectors", () => {
  it("builds one selector per kind for ticked names and one for labels and compose project", () => {
    const targets = emptyTargets();
    targets.byKind.volume.names = ["dev-data", "db"];
    targets.byKind.container.labels = "backup=nightly, tier = db";
    targets.byKind.container.composeProject = "devproj";
    targets.byKind.image.composeProject = "";
    expect(selectorsFromTargets(targets)).toEqual([
      { kind: "volume", names: ["dev-data", "db"], label_selector: {} },
      { kind: "container", names: [], label_selector: { backup: "nightly", tier: "db" }, compose_project: "devproj" },
    ]);
  });

  it("matches a compose project alone without labels", () => {
    const targets = emptyTargets();
    targets.byKind.volume.composeProject = "shop";
    expect(selectorsFromTargets(targets)).toEqual([{ kind: "volume", names: [], label_selector: {}, compose_project: "shop" }]);
  });

  it("reads back what it wrote", () => {
    const selectors: Selector[] = [
      { kind: "volume", names: ["a", "b"], label_selector: {} },
      { kind: "container", names: [], label_selector: { app: "db" }, compose_project: "devproj" },
      { kind: "image", names: [], label_selector: { "org.x": "1" } },
    ];
    const targets = targetsFromSelectors(selectors);
    expect(targets.other).toEqual([]);
    expect(selectorsFromTargets(targets)).toEqual(selectors);
  });

  it("keeps selectors the pickers cannot show, as they are", () => {
    const mixed: Selector = { kind: "volume", names: ["a"], label_selector: { app: "db" } };
    const second: Selector = { kind: "volume", names: [], label_selector: { tier: "2" } };
    const comma: Selector = { kind: "container", names: [], label_selector: { note: "a,b" } };
    const first: Selector = { kind: "volume", names: [], label_selector: { tier: "1" } };
    const targets = targetsFromSelectors([mixed, first, second, comma]);
    expect(targets.byKind.volume.labels).toBe("tier=1");
    expect(targets.other).toEqual([mixed, second, comma]);
    expect(selectorsFromTargets(targets)).toEqual(expect.arrayContaining([mixed, first, second, comma]));
  });

  it("parses labels and names a pair without '='", () => {
    expect(parseLabels("a=1, b=x=y,, ")).toEqual({ labels: { a: "1", b: "x=y" }, error: null });
    expect(parseLabels("a=1, oops").error).toMatch(/oops/);
  });
});

describe("hook commands", () => {
  it("split into argv with quotes and escapes, and join back the same", () => {
    expect(splitArgv(`sh -c "pg_dump -f '/b/db.sql' app" ''`)).toEqual(["sh", "-c", "pg_dump -f '/b/db.sql' app", ""]);
    expect(splitArgv("a\\ b  c")).toEqual(["a b", "c"]);
    for (const argv of [["sh", "-c", "echo 'hi there' > /x"], ["a b", "", "it's"], ["plain", "--flag=1"]]) {
      expect(splitArgv(joinArgv(argv))).toEqual(argv);
    }
  });
});

const PLAN: Schemas["PlanOut"] = {
  id: "p1",
  name: "nightly",
  host_id: "vm",
  enabled: false,
  cron: "30 2 * * 1-5",
  timezone: "Europe/Berlin",
  targets: [
    { kind: "volume", names: ["dev-data"], label_selector: {}, compose_project: null },
    { kind: "container", names: [], label_selector: {}, compose_project: "devproj" },
  ],
  options: {
    format: "repository",
    compression: "gzip",
    compression_level: 6,
    stop_containers: true,
    pre_commands: [{ container: "dev-app", command: ["sh", "-c", "sync && echo ok"], timeout_seconds: 60, on_error: "continue" }],
    post_commands: [],
    include_image: true,
    include_bind_mounts: false,
  },
  hook_argv_hidden: false,
  upload_targets: ["s3-main"],
  retention: {
    keep_last: 3,
    keep_daily: 7,
    keep_weekly: 4,
    keep_monthly: 6,
    keep_yearly: 1,
    keep_within_seconds: 2 * 86400,
    keep_minimum: 2,
  },
  local_copies: { keep: "last", last: 2 },
  verify_cron: "0 5 * * 0",
  missed_run_grace_seconds: 600,
  restore_special_bits: true,
  revision: 3,
  created_by: "admin",
  created_at: "2026-11-01T00:00:00Z",
  updated_at: "2026-11-02T00:00:00Z",
  deleted_at: null,
  next_fire_times: [],
  last_job: null,
};

describe("plan ⇄ form ⇄ body", () => {
  it("sends a non-admin's hidden hook commands back exactly as shown, which keeps them", () => {
    const hidden = ["(hidden: only admins see hook commands)"];
    const shown = { ...PLAN, hook_argv_hidden: true, options: { ...PLAN.options, pre_commands: [{ ...PLAN.options.pre_commands![0], command: hidden }] } };
    expect(bodyFromForm(formFromPlan(shown)).options?.pre_commands).toEqual(shown.options.pre_commands);
  });

  it("saves a plan's fields unchanged when nothing was edited", () => {
    const body = bodyFromForm(formFromPlan(PLAN));
    expect(body).toEqual({
      name: PLAN.name,
      host_id: PLAN.host_id,
      cron: PLAN.cron,
      timezone: PLAN.timezone,
      enabled: PLAN.enabled,
      targets: [
        { kind: "volume", names: ["dev-data"], label_selector: {} },
        { kind: "container", names: [], label_selector: {}, compose_project: "devproj" },
      ],
      options: PLAN.options,
      upload_targets: PLAN.upload_targets,
      retention: PLAN.retention,
      local_copies: PLAN.local_copies,
      verify_cron: PLAN.verify_cron,
      missed_run_grace_seconds: PLAN.missed_run_grace_seconds,
      restore_special_bits: true, // carried as it is: an operator's edit must not change an admin's choice
    });
  });

  it("shows keep_within in the largest unit that states it exactly", () => {
    expect(withinFromSeconds(2 * 86400)).toEqual({ value: "2", unit: "days" });
    expect(withinFromSeconds(14 * 86400)).toEqual({ value: "2", unit: "weeks" });
    expect(withinFromSeconds(7200)).toEqual({ value: "2", unit: "hours" });
    expect(withinFromSeconds(90)).toEqual({ value: "90", unit: "seconds" });
  });

  it("sends no verify schedule and the default compression level when left empty", () => {
    const form = { ...newPlanForm("UTC"), name: " db ", hostId: "vm" };
    form.targets.byKind.volume.names = ["dev-data"];
    const body = bodyFromForm(form);
    expect(body.name).toBe("db");
    expect(body.verify_cron).toBeNull();
    expect(body.options?.compression_level).toBeNull();
    expect(body.retention?.keep_within_seconds).toBe(0);
  });

  it("names a form without targets or host before asking the API", () => {
    const errors = localErrors(newPlanForm("UTC"));
    expect(Object.keys(errors).sort()).toEqual(["host_id", "targets"]);
  });

  it("finds the API's message for a field or anything under it", () => {
    const fields = { "targets.0": "a target needs names", cron: "invalid cron" };
    expect(errorUnder(fields, "cron")).toBe("invalid cron");
    expect(errorUnder(fields, "targets")).toBe("targets.0: a target needs names");
    expect(errorUnder(fields, "name")).toBeUndefined();
  });
});

describe("newPlanFormFromSearch", () => {
  it("chooses the host and ticks the resource a link names", () => {
    const form = newPlanFormFromSearch(new URLSearchParams("host=vm&volume=dev+data"), "UTC");
    expect(form.hostId).toBe("vm");
    expect(form.targets.byKind.volume.names).toEqual(["dev data"]);
    expect(form.targets.byKind.container.names).toEqual([]);
  });

  it("ticks a container too, and ignores a resource without its host", () => {
    expect(newPlanFormFromSearch(new URLSearchParams("host=vm&container=app"), "UTC").targets.byKind.container.names).toEqual(["app"]);
    expect(newPlanFormFromSearch(new URLSearchParams("volume=data"), "UTC")).toEqual(newPlanForm("UTC"));
  });
});

describe("number fields", () => {
  const valid = (): PlanForm => {
    const form = { ...newPlanForm("UTC"), name: "db", hostId: "vm" };
    form.targets.byKind.volume.names = ["dev-data"];
    return form;
  };

  it("sends what was typed into an emptied Keep last, not its default put back", () => {
    const form = valid();
    form.retention = { ...form.retention, keep_last: "" };
    expect(numberErrors(form)).toEqual({ "retention.keep_last": "Keep last: enter a whole number from 0 to 10000" });
    form.retention = { ...form.retention, keep_last: "3" };
    expect(localErrors(form)).toEqual({});
    expect(bodyFromForm(form).retention?.keep_last).toBe(3);
  });

  it("refuses an empty field by its name instead of a silent default", () => {
    const form = valid();
    form.retention = { ...form.retention, keep_minimum: "" };
    form.missedRunGraceSeconds = "";
    form.localKeep = "last";
    form.localLast = "";
    form.keepWithin = "";
    form.preCommands = [{ container: "app", command: "sync", timeoutSeconds: "", onError: "fail" }];
    expect(localErrors(form)).toEqual({
      "retention.keep_minimum": "Keep minimum: enter a whole number from 1 to 10000",
      "retention.keep_within_seconds": "Keep within (days): enter a number from 0 to 36600",
      "options.pre_commands.0.timeout_seconds": "Before 1: timeout (s): enter a number above 0 and up to 86400",
      "local_copies.last": "Newest archives kept on the host: enter a whole number from 1 to 10000",
      "missed_run_grace_seconds": "Missed-run grace (seconds): enter a number from 0 to 2592000",
    });
    expect(() => bodyFromForm(form)).toThrow();
  });

  it("refuses numbers out of the API's bounds, fractions of a count and text", () => {
    const form = valid();
    form.retention = { ...form.retention, keep_last: "2.5", keep_yearly: "1001", keep_daily: "-1" };
    form.compressionLevel = "23";
    expect(Object.keys(numberErrors(form)).sort()).toEqual([
      "options.compression_level",
      "retention.keep_daily",
      "retention.keep_last",
      "retention.keep_yearly",
    ]);
    form.retention = { ...form.retention, keep_last: "2", keep_yearly: "1000", keep_daily: "0" };
    form.compressionLevel = "";
    expect(numberErrors(form)).toEqual({});
  });

  it("sends every typed number as a number", () => {
    const form = valid();
    form.retention = { keep_last: "3", keep_daily: "14", keep_weekly: "4", keep_monthly: "0", keep_yearly: "2", keep_minimum: "2" };
    form.keepWithin = "2";
    form.keepWithinUnit = "weeks";
    form.missedRunGraceSeconds = "60";
    form.compressionLevel = "9";
    form.localKeep = "last";
    form.localLast = "4";
    const body = bodyFromForm(form);
    expect(body.retention).toEqual({
      keep_last: 3,
      keep_daily: 14,
      keep_weekly: 4,
      keep_monthly: 0,
      keep_yearly: 2,
      keep_minimum: 2,
      keep_within_seconds: 14 * 86400,
    });
    expect(body.missed_run_grace_seconds).toBe(60);
    expect(body.options?.compression_level).toBe(9);
    expect(body.local_copies).toEqual({ keep: "last", last: 4 });
  });
});

describe("the API's messages once a field changes", () => {
  it("drops the message of the field that changed and keeps the others", () => {
    const form = formFromPlan(PLAN);
    const messages = { cron: "invalid cron expression '61 * * * *'", name: "taken", "retention.keep_minimum": "too small" };
    expect(withoutMessagesOf(messages, form, { cron: "0 4 * * *" })).toEqual({ name: "taken", "retention.keep_minimum": "too small" });
    expect(withoutMessagesOf(messages, form, { retention: { ...form.retention, keep_last: "5" } })).toEqual(messages);
    expect(withoutMessagesOf(messages, form, { retention: { ...form.retention, keep_minimum: "5" } })).toEqual({
      cron: messages.cron,
      name: "taken",
    });
  });

  it("keeps a message when the field is set to what it was", () => {
    const form = formFromPlan(PLAN);
    expect(withoutMessagesOf({ cron: "bad" }, form, { cron: form.cron })).toEqual({ cron: "bad" });
  });
});
