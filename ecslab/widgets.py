"""Notebook widgets (ipywidgets): a live view of a service, and a scale control.

The library builds the widgets; the notebook displays them. Updates are sent
while a cell runs, so the view changes live as the service converges.
"""

from __future__ import annotations

import html
import logging

import ipywidgets as w

from .service import is_steady

log = logging.getLogger(__name__)


def _counts_html(title: str, counts: dict[str, int]) -> str:
    if not counts:
        return f"<b>{html.escape(title)}</b>: none"
    cells = "".join(f"<td style='padding:0 .8em'>{html.escape(k)}: <b>{v}</b></td>"
                    for k, v in sorted(counts.items()))
    return f"<b>{html.escape(title)}</b><table><tr>{cells}</tr></table>"


class ServiceView:
    """Tasks by state and targets by health for one lab's service."""

    def __init__(self, lab):
        self.lab = lab
        self.header = w.HTML()
        self.tasks = w.HTML()
        self.targets = w.HTML()
        self.widget = w.VBox([self.header, self.tasks, self.targets],
                             layout=w.Layout(border="1px solid #ddd", padding="6px"))
        self.widget.add_class("ecslab-service-view")

    def show(self, service: dict) -> None:
        """Redraw from a DescribeServices record (and fresh task/target reads)."""
        steady = is_steady(service)
        mark = "&#10004; steady state" if steady else "converging&hellip;"
        simulated = " (simulated by the emulator)" if self.lab.session.is_local else ""
        self.header.value = (
            f"<b>{html.escape(service['serviceName'])}</b>{simulated}: desired "
            f"<b>{service['desiredCount']}</b>, running "
            f"<b>{service['runningCount']}</b>, pending "
            f"<b>{service.get('pendingCount', 0)}</b> &mdash; {mark}")
        tasks = self.lab.service_tasks()
        by_state = tasks["lastStatus"].value_counts().to_dict() if len(tasks) else {}
        self.tasks.value = _counts_html("tasks by state", by_state)
        targets = self.lab.targets()
        by_health = targets["health"].value_counts().to_dict() if len(targets) else {}
        self.targets.value = _counts_html("targets by health", by_health)

    def refresh(self) -> dict:
        service = self.lab.service()
        self.show(service)
        return service

    def watch(self, timeout: float | None = None) -> dict:
        """Update the view until the service reports a steady state."""
        return self.lab.wait_until_stable(timeout=timeout, on_poll=self.show)


def service_view(lab) -> ServiceView:
    view = ServiceView(lab)
    view.refresh()
    return view


class ScaleControl:
    """A number box and a button that set the service's desired count."""

    def __init__(self, lab, view: ServiceView | None = None, maximum: int = 10):
        self.lab = lab
        self.view = view
        current = lab.service()["desiredCount"]
        self.count = w.BoundedIntText(value=current, min=0, max=maximum,
                                      description="desired",
                                      layout=w.Layout(width="160px"))
        self.button = w.Button(description="Scale", button_style="primary",
                               tooltip="set the service's desired count")
        self.status = w.HTML(f"desired count is {current}")
        self.button.on_click(self._apply)
        self.widget = w.VBox([w.HBox([self.count, self.button]), self.status])
        self.widget.add_class("ecslab-scale-control")

    def _apply(self, _button=None) -> None:
        wanted = int(self.count.value)
        try:
            self.lab.scale(wanted)
            self.status.value = f"desired count set to <b>{wanted}</b>"
            if self.view is not None:
                self.view.watch()
                self.status.value += " &mdash; steady"
        except Exception as error:  # shown to the learner, not swallowed
            self.status.value = (f"<span style='color:#cf222e'>"
                                 f"{html.escape(str(error))}</span>")
            log.warning("scaling failed: %s", error)

    def scale(self, count: int) -> None:
        """Do what clicking the button with ``count`` typed in does."""
        self.count.value = count
        self._apply()


def scale_control(lab, view: ServiceView | None = None) -> ScaleControl:
    return ScaleControl(lab, view)
