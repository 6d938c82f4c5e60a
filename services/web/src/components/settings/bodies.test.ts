import { describe, expect, it } from "vitest";
import {
  smtpBody,
  smtpErrors,
  smtpForm,
  splitAddresses,
  targetCreateBody,
  targetErrors,
  targetForm,
  targetUpdateBody,
  webhookCreateBody,
  webhookForm,
  webhookUpdateBody,
  withSecret,
} from "./bodies";

describe("withSecret", () => {
  it("leaves an untouched secret out (the stored value is kept)", () => {
    expect(withSecret({ a: 1 }, "password", { typed: "" })).toEqual({ a: 1 });
  });
  it("sends a typed secret", () => {
    expect(withSecret({ a: 1 }, "password", { typed: "s3cret" })).toEqual({ a: 1, password: "s3cret" });
  });
  it("sends null to clear it", () => {
    expect(withSecret({ a: 1 }, "password", { typed: "ignored", clear: true })).toEqual({ a: 1, password: null });
  });
});

describe("S3 target bodies", () => {
  const stored = {
    target_id: "offsite",
    endpoint: "minio.lan:9000",
    secure: false,
    region: null,
    bucket: "backups",
    prefix: "dockback/",
    part_size_bytes: 64 * 1024 * 1024,
    verify_full_read: false,
    access_key: { set: true },
    secret_key: { set: true },
    updated_at: "2026-01-01T00:00:00Z",
  };

  it("never prefills the stored keys", () => {
    const form = targetForm(stored);
    expect(form.access_key).toBe("");
    expect(form.secret_key).toBe("");
  });

  it("keeps both keys when the edit form leaves them empty", () => {
    const body = targetUpdateBody(targetForm(stored));
    expect(body).not.toHaveProperty("access_key");
    expect(body).not.toHaveProperty("secret_key");
    expect(body).not.toHaveProperty("target_id");
    expect(body).toMatchObject({ endpoint: "minio.lan:9000", bucket: "backups", part_size_bytes: 64 * 1024 * 1024 });
  });

  it("sends only the key that was typed", () => {
    const body = targetUpdateBody({ ...targetForm(stored), secret_key: "new-secret" });
    expect(body).toMatchObject({ secret_key: "new-secret" });
    expect(body).not.toHaveProperty("access_key");
  });

  it("sends both keys and the id for a new target, an empty region as null", () => {
    const body = targetCreateBody({ ...targetForm(), target_id: " t1 ", endpoint: "s3.x", bucket: "b1", access_key: "a", secret_key: "s", part_size_mib: "8" });
    expect(body).toMatchObject({ target_id: "t1", access_key: "a", secret_key: "s", region: null, part_size_bytes: 8 * 1024 * 1024 });
  });
});

describe("SMTP body", () => {
  it("keeps the stored password unless one is typed or cleared", () => {
    const form = { ...smtpForm(), host: "mail", from_address: "a@x", recipients: "b@y, c@z" };
    expect(smtpBody(form)).not.toHaveProperty("password");
    expect(smtpBody({ ...form, password: "pw" }).password).toBe("pw");
    expect(smtpBody({ ...form, clear_password: true }).password).toBeNull();
    expect(smtpBody(form)).toMatchObject({ recipients: ["b@y", "c@z"], port: 587, username: null });
  });

  it("splits recipients on commas, semicolons and spaces", () => {
    expect(splitAddresses(" a@x,b@y;  c@z ")).toEqual(["a@x", "b@y", "c@z"]);
  });
});

describe("webhook bodies", () => {
  it("sends a signing secret only when typed", () => {
    const form = { ...webhookForm(), webhook_id: "ops", url: "https://h.example/x" };
    expect(webhookCreateBody(form)).not.toHaveProperty("signing_secret");
    expect(webhookCreateBody({ ...form, signing_secret: "k" }).signing_secret).toBe("k");
    expect(webhookUpdateBody(form)).not.toHaveProperty("signing_secret");
    expect(webhookUpdateBody({ ...form, clear_secret: true }).signing_secret).toBeNull();
    expect(webhookUpdateBody(form)).not.toHaveProperty("webhook_id");
    expect(webhookUpdateBody(form).url).toBe("https://h.example/x");
    expect(webhookUpdateBody({ ...form, url: "" })).not.toHaveProperty("url");
  });
});

describe("number fields of the settings", () => {
  it("refuses an empty or out-of-range part size by its name", () => {
    const form = { ...targetForm(), part_size_mib: "" };
    expect(targetErrors(form)).toEqual({ part_size_bytes: "Part size (MiB): enter a number from 5 to 5120" });
    expect(targetErrors({ ...form, part_size_mib: "4" })).toHaveProperty("part_size_bytes");
    expect(targetErrors({ ...form, part_size_mib: "16" })).toEqual({});
    expect(targetCreateBody({ ...form, part_size_mib: "16" }).part_size_bytes).toBe(16 * 1024 * 1024);
  });

  it("refuses an empty SMTP port by its name instead of sending 0", () => {
    const form = { ...smtpForm(), port: "" };
    expect(smtpErrors(form)).toEqual({ port: "Port: enter a whole number from 1 to 65535" });
    expect(smtpErrors({ ...form, port: "465" })).toEqual({});
    expect(smtpBody({ ...form, port: "465" }).port).toBe(465);
  });
});
