// The storage chart's geometry, kept free of React so it can be tested: where each day and
// each byte count lands, and which ticks the axes show.
import { formatBytes } from "../../lib/format";

export interface ChartBox {
  width: number;
  height: number;
  /** Room for the axis labels: left (bytes), bottom (days), and a little at the top and right. */
  left: number;
  bottom: number;
  top: number;
  right: number;
}

export interface Tick {
  value: number;
  /** Position along the axis, in SVG units. */
  at: number;
  label: string;
}

export interface ChartLayout {
  yTicks: Tick[];
  xTicks: Tick[];
  /** One SVG path ("M x y L x y …") per series, in the order given. */
  paths: string[];
  yMax: number;
}

const STEPS = [1, 2, 5, 10];

/** Round tick steps in the unit people read (KiB, MiB, GiB…, as formatBytes shows them):
 *  0 and multiples of 1, 2 or 5 × 10^k units, up to at least `max`, about `count` of them. */
export function byteTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0];
  const unit = 1024 ** Math.max(0, Math.floor(Math.log(max) / Math.log(1024)));
  const raw = max / unit / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = (STEPS.find((s) => s * magnitude >= raw) ?? 10) * magnitude * unit;
  const ticks = [];
  for (let value = 0; value < max + step; value += step) {
    ticks.push(value);
    if (value >= max) break;
  }
  return ticks;
}

/** "Nov 3" for a day "2026-11-03" (read as a calendar day, whatever the browser's zone). */
export function dayLabel(day: string): string {
  const [year, month, date] = day.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, date)).toLocaleDateString(undefined, {
    month: "short",
    day: "numeric",
    timeZone: "UTC",
  });
}

/** Scales, ticks and line paths for `days` (oldest first) and series of values, one per day. */
export function layoutChart(days: string[], series: number[][], box: ChartBox, dayLabels = 5): ChartLayout {
  const plotWidth = box.width - box.left - box.right;
  const plotHeight = box.height - box.top - box.bottom;
  const highest = Math.max(0, ...series.flat());
  const yTickValues = byteTicks(highest);
  const yMax = yTickValues[yTickValues.length - 1] || 1;
  const xOf = (index: number) => box.left + (days.length > 1 ? (index / (days.length - 1)) * plotWidth : plotWidth / 2);
  const yOf = (value: number) => box.top + plotHeight - (value / yMax) * plotHeight;
  const every = Math.max(1, Math.ceil(days.length / dayLabels));
  const xTicks = days
    .map((day, index) => ({ value: index, at: xOf(index), label: dayLabel(day) }))
    .filter((tick) => (days.length - 1 - tick.value) % every === 0); // always label the last day (today)
  return {
    yMax,
    yTicks: yTickValues.map((value) => ({ value, at: yOf(value), label: formatBytes(value) })),
    xTicks,
    paths: series.map((values) =>
      values.map((value, index) => `${index === 0 ? "M" : "L"}${round(xOf(index))} ${round(yOf(value))}`).join(" "),
    ),
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
