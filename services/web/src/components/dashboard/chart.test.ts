import { describe, expect, it } from "vitest";
import { byteTicks, dayLabel, layoutChart } from "./chart";

const BOX = { width: 400, height: 200, left: 60, bottom: 20, top: 10, right: 10 };
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

describe("byteTicks", () => {
  it("gives a single zero tick when nothing is stored", () => {
    expect(byteTicks(0)).toEqual([0]);
  });

  it("steps in round numbers of the unit shown and reaches the highest value", () => {
    expect(byteTicks(7.3 * MiB)).toEqual([0, 2 * MiB, 4 * MiB, 6 * MiB, 8 * MiB]);
    expect(byteTicks(900 * GiB)).toEqual([0, 500 * GiB, 1000 * GiB]);
    expect(byteTicks(1000)).toEqual([0, 500, 1000]);
  });

  it("ends at the highest value when it falls on a step", () => {
    expect(byteTicks(4 * MiB, 4)).toEqual([0, MiB, 2 * MiB, 3 * MiB, 4 * MiB]);
  });
});

describe("layoutChart", () => {
  const days = ["2026-11-01", "2026-11-02", "2026-11-03"];

  it("maps the first day to the left edge, the last to the right, zero to the bottom", () => {
    const layout = layoutChart(days, [[0, 5 * MiB, 10 * MiB]], BOX);
    expect(layout.yMax).toBe(10 * MiB);
    expect(layout.paths[0]).toBe("M60 180 L225 95 L390 10");
  });

  it("labels the y axis with formatted bytes from the bottom up", () => {
    const layout = layoutChart(days, [[0, 0, 10 * MiB]], BOX);
    expect(layout.yTicks.map((t) => t.label)).toEqual(["0 B", "5.0 MiB", "10 MiB"]);
    expect(layout.yTicks[0].at).toBe(180);
    expect(layout.yTicks[layout.yTicks.length - 1].at).toBe(10);
  });

  it("labels a few days, always including the last one", () => {
    const month = Array.from({ length: 30 }, (_, i) => `2026-11-${String(i + 1).padStart(2, "0")}`);
    const layout = layoutChart(month, [month.map(() => 1)], BOX, 5);
    expect(layout.xTicks.length).toBeLessThanOrEqual(6);
    expect(layout.xTicks[layout.xTicks.length - 1].value).toBe(29);
    expect(layout.xTicks[layout.xTicks.length - 1].at).toBe(390);
  });

  it("draws an all-zero series along the bottom", () => {
    const layout = layoutChart(days, [[0, 0, 0]], BOX);
    expect(layout.paths[0]).toBe("M60 180 L225 180 L390 180");
  });
});

describe("dayLabel", () => {
  it("reads the day as a calendar day", () => {
    expect(dayLabel("2026-11-03")).toMatch(/3/);
  });
});
