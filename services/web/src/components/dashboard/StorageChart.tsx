// Storage kept per day, as lines (total, on the hosts, in remote targets); no chart library.
import type { Schemas } from "../../api/client";
import { formatBytes } from "../../lib/format";
import { dayLabel, layoutChart } from "./chart";
import "./dashboard.css";

const BOX = { width: 640, height: 220, left: 72, bottom: 28, top: 12, right: 16 };
const SERIES = [
  { key: "total_bytes", label: "All archives", className: "series-total" },
  { key: "local_bytes", label: "On the hosts", className: "series-local" },
  { key: "remote_bytes", label: "Remote copies", className: "series-remote" },
] as const;

export function StorageChart({ days }: { days: Schemas["StorageDay"][] }) {
  const layout = layoutChart(
    days.map((d) => d.day),
    SERIES.map((s) => days.map((d) => d[s.key])),
    BOX,
  );
  const today = days[days.length - 1];
  return (
    <figure className="storage-chart">
      <svg
        viewBox={`0 0 ${BOX.width} ${BOX.height}`}
        role="img"
        aria-label={`Storage used over the last ${days.length} days; today ${formatBytes(today?.total_bytes ?? 0)}`}
      >
        {layout.yTicks.map((tick) => (
          <g key={tick.value}>
            <line className="grid-line" x1={BOX.left} x2={BOX.width - BOX.right} y1={tick.at} y2={tick.at} />
            <text className="axis-label" x={BOX.left - 6} y={tick.at} textAnchor="end" dominantBaseline="middle">
              {tick.label}
            </text>
          </g>
        ))}
        {layout.xTicks.map((tick) => (
          <text key={tick.value} className="axis-label" x={tick.at} y={BOX.height - 8} textAnchor="middle">
            {tick.label}
          </text>
        ))}
        {layout.paths.map((path, index) => (
          <path key={SERIES[index].key} className={`series ${SERIES[index].className}`} d={path} />
        ))}
      </svg>
      <figcaption className="chart-legend">
        {SERIES.map((s) => (
          <span key={s.key} className={`legend-item ${s.className}`}>
            {s.label}: {formatBytes(today?.[s.key] ?? 0)}
          </span>
        ))}
        {today ? <span className="hint"> (today, {dayLabel(today.day)})</span> : null}
      </figcaption>
    </figure>
  );
}
