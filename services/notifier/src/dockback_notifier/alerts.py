"""What an alert says: built from a fact, rendered as mail text, HTML, JSON or Slack text.

No I/O here: the plan's name and the UI's base URL are looked up by the caller.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dockback_contracts import events as ev
from dockback_contracts import subjects


@dataclass(frozen=True)
class Alert:
    """One thing a person should hear about. `key` is its natural key: one alert per key and channel."""

    key: str
    event: str
    title: str
    summary: str
    occurred_at: datetime
    details: tuple[tuple[str, str], ...]
    link: str | None = None
    data: dict[str, Any] = field(default_factory=dict, compare=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "event": self.event,
            "title": self.title,
            "occurred_at": self.occurred_at.isoformat(),
            "link": self.link,
            **self.data,
        }


def _resource(resource: ev.ResourceRef | None) -> str:
    return f"{resource.kind} {resource.name}" if resource else "the job"


def job_failed(event: ev.JobFailed, plan_name: str | None, ui_base_url: str) -> Alert:
    """A failed job (verification failures are failed jobs of kind `verify`)."""
    what = _resource(event.resource)
    action = "verification" if event.kind == "verify" else event.kind
    title = f"{action} of {what} on host {event.host_id} failed"
    link = f"{ui_base_url.rstrip('/')}/jobs/{event.job_id}"
    plan = plan_name or (str(event.plan_id) if event.plan_id else "(none: a manual job)")
    details = (
        ("Host", event.host_id),
        ("Plan", plan),
        ("Resource", what if event.resource else "-"),
        ("Kind", event.kind),
        ("Phase", event.phase),
        ("Reason", event.reason),
        ("Retryable", "yes" if event.retryable else "no"),
        ("Job", str(event.job_id)),
        ("When", event.occurred_at.isoformat()),
    )
    return Alert(
        key=subjects.message_id(event),
        event="job_failed",
        title=title,
        summary=f"{title}: {event.reason}",
        occurred_at=event.occurred_at,
        details=details,
        link=link,
        data={
            "job_id": str(event.job_id),
            "host_id": event.host_id,
            "plan_id": str(event.plan_id) if event.plan_id else None,
            "plan_name": plan_name,
            "resource": event.resource.model_dump() if event.resource else None,
            "kind": event.kind,
            "phase": event.phase,
            "reason": event.reason,
            "retryable": event.retryable,
        },
    )


def run_missed(event: ev.RunMissed, plan_name: str | None, ui_base_url: str) -> Alert:
    """A plan's scheduled run(s) that did not happen."""
    name = event.plan_name or plan_name or str(event.plan_id)
    slots = "run" if event.missed_slots == 1 else f"{event.missed_slots} runs"
    title = f"plan {name} on host {event.host_id} missed {slots}"
    details = [
        ("Host", event.host_id),
        ("Plan", name),
        ("Scheduled for", event.scheduled_for.isoformat()),
        ("Missed runs", str(event.missed_slots)),
    ]
    if event.last_scheduled_for:
        details.append(("Last missed", event.last_scheduled_for.isoformat()))
    details.append(("Reason", event.reason))
    return Alert(
        key=subjects.message_id(event),
        event="run_missed",
        title=title,
        summary=f"{title}: {event.reason}",
        occurred_at=event.occurred_at,
        details=tuple(details),
        link=f"{ui_base_url.rstrip('/')}/plans/{event.plan_id}",
        data={
            "host_id": event.host_id,
            "plan_id": str(event.plan_id),
            "plan_name": name,
            "scheduled_for": event.scheduled_for.isoformat(),
            "last_scheduled_for": event.last_scheduled_for.isoformat() if event.last_scheduled_for else None,
            "missed_slots": event.missed_slots,
            "reason": event.reason,
        },
    )


def job_succeeded(event: ev.JobSucceeded, plan_name: str | None, ui_base_url: str) -> Alert:
    """A job that succeeded: only ever part of a channel's succeeded-job digest."""
    what = _resource(event.resource)
    plan = plan_name or (str(event.plan_id) if event.plan_id else "(none: a manual job)")
    size = _size(event.bytes) if event.bytes is not None else "-"
    title = f"{event.kind} of {what} on host {event.host_id} succeeded"
    return Alert(
        key=subjects.message_id(event),
        event="job_succeeded",
        title=title,
        summary=f"{title} ({size})",
        occurred_at=event.finished_at,
        details=(
            ("Host", event.host_id),
            ("Plan", plan),
            ("Resource", what if event.resource else "-"),
            ("Kind", event.kind),
            ("Size", size),
            ("Finished", event.finished_at.isoformat()),
        ),
        link=f"{ui_base_url.rstrip('/')}/jobs/{event.job_id}",
        data={
            "job_id": str(event.job_id),
            "host_id": event.host_id,
            "plan_id": str(event.plan_id) if event.plan_id else None,
            "plan_name": plan_name,
            "resource": event.resource.model_dump() if event.resource else None,
            "kind": event.kind,
            "bytes": event.bytes,
            "finished_at": event.finished_at.isoformat(),
        },
    )


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def headline(alerts: list[Alert], window_seconds: float) -> str:
    """One alert: its title. Several: how many, of what, within which window.
    A succeeded-job digest always says how many succeeded, even when it is one."""
    succeeded = sum(1 for a in alerts if a.event == "job_succeeded")
    if succeeded:
        jobs = "1 job" if succeeded == 1 else f"{succeeded} jobs"
        return f"{jobs} succeeded in the last {_duration(window_seconds)}"
    if len(alerts) == 1:
        return alerts[0].title
    failed = sum(1 for a in alerts if a.event == "job_failed")
    missed = len(alerts) - failed
    parts = [f"{failed} jobs failed"] if failed else []
    if missed:
        parts.append(f"{missed} runs missed")
    return f"{' and '.join(parts)} in the last {_duration(window_seconds)}"


def _duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = int(seconds // 3600)
        return "hour" if hours == 1 else f"{hours} h"
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return "minute" if minutes == 1 else f"{minutes} minutes"
    return "second" if seconds == 1 else f"{seconds:g} seconds"


def plain_text(alerts: list[Alert], window_seconds: float) -> str:
    lines = [headline(alerts, window_seconds), ""]
    for alert in alerts:
        if len(alerts) > 1:
            lines.append(f"* {alert.title}")
        width = max(len(label) for label, _ in alert.details)
        lines.extend(f"  {label + ':':<{width + 1}} {value}" for label, value in alert.details)
        if alert.link:
            lines.append(f"  {'Link:':<{width + 1}} {alert.link}")
        lines.append("")
    lines.append("-- DockBack")
    return "\n".join(lines) + "\n"


def html_text(alerts: list[Alert], window_seconds: float) -> str:
    out = [f"<h2>{html.escape(headline(alerts, window_seconds))}</h2>"]
    for alert in alerts:
        if len(alerts) > 1:
            out.append(f"<h3>{html.escape(alert.title)}</h3>")
        out.append("<table>")
        out.extend(
            f"<tr><th align='left'>{html.escape(label)}</th><td>{html.escape(value)}</td></tr>"
            for label, value in alert.details
        )
        out.append("</table>")
        if alert.link:
            link = html.escape(alert.link, quote=True)
            out.append(f'<p><a href="{link}">Open in DockBack</a></p>')
    out.append("<p>-- DockBack</p>")
    return "<html><body>" + "\n".join(out) + "</body></html>"


def webhook_body(alerts: list[Alert], window_seconds: float) -> dict[str, Any]:
    """The JSON a webhook receives: the same shape for one alert and for a digest."""
    return {
        "type": "dockback.alerts.v1",
        "title": headline(alerts, window_seconds),
        "digest": len(alerts) > 1,
        "alerts": [alert.as_json() for alert in alerts],
    }


def slack_body(alerts: list[Alert], window_seconds: float) -> dict[str, Any]:
    """A Slack-compatible incoming-webhook body: `text` (mrkdwn) and one section block per alert."""

    def line(alert: Alert) -> str:
        link = f" <{alert.link}|open>" if alert.link else ""
        return f"{_slack_escape(alert.summary)}{link}"

    title = _slack_escape(headline(alerts, window_seconds))
    text = f"*{title}*\n" + "\n".join(f"• {line(a)}" for a in alerts)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*"}}]
    blocks.extend({"type": "section", "text": {"type": "mrkdwn", "text": line(a)}} for a in alerts[:40])
    return {"text": text, "blocks": blocks}


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
