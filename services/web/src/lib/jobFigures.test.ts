import { describe, expect, it } from "vitest";
import { finishedFigureLabel, percentDone } from "./jobFigures";

describe("percentDone", () => {
  it("is a whole percent of a known total, never past 100", () => {
    expect(percentDone(552, 600)).toBe(92);
    expect(percentDone(599, 600)).toBe(99);
    expect(percentDone(600, 600)).toBe(100);
    expect(percentDone(700, 600)).toBe(100); // an estimate smaller than the stream
  });

  it("is null when no total is known", () => {
    expect(percentDone(552, null)).toBeNull();
    expect(percentDone(552, undefined)).toBeNull();
    expect(percentDone(0, 0)).toBeNull();
  });
});

describe("finishedFigureLabel", () => {
  it("names what a succeeded job's figure counts, and what an ended one got through", () => {
    expect(finishedFigureLabel("backup", "succeeded")).toBe("Data backed up");
    expect(finishedFigureLabel("restore", "succeeded")).toBe("Data restored");
    expect(finishedFigureLabel("verify", "succeeded")).toBe("Data checked");
    expect(finishedFigureLabel("prune", "succeeded")).toBeNull();
    expect(finishedFigureLabel("backup", "failed")).toBe("Done before it ended");
  });
});
