"""Notebook widgets (ipywidgets): a live view of a service, and a scale control.

The library builds the widgets; the notebook displays them. Updates are sent
while a cell runs, so the view changes live as the service converges.
"""

from __future__ import annotations

import html
import logging
import time

import ipywidgets as w

from .account import Masked, mask
from .service import is_steady, service_tasks

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
        self.settled = False
        self.header = w.HTML()
        self.tasks = w.HTML()
        self.targets = w.HTML()
        self.widget = w.VBox([self.header, self.tasks, self.targets],
                             layout=w.Layout(border="1px solid #ddd", padding="6px"))
        self.widget.add_class("ecslab-service-view")

    def _tasks(self) -> list[dict]:
        """The service's tasks not yet STOPPED, including those on their way down."""
        ecs, spec = self.lab.client("ecs"), self.lab.spec
        return [t for status in ("RUNNING", "STOPPED")
                for t in service_tasks(ecs, spec.cluster_name, spec.service_name,
                                       status)
                if t.get("lastStatus") != "STOPPED"]

    def show(self, service: dict) -> None:
        """Redraw from a DescribeServices record (and fresh task/target reads)."""
        tasks = self._tasks()
        by_state: dict[str, int] = {}
        for task in tasks:
            by_state[task["lastStatus"]] = by_state.get(task["lastStatus"], 0) + 1
        wanted = [t for t in tasks if t.get("desiredStatus") == "RUNNING"]
        targets = self.lab.targets()
        by_health = targets["health"].value_counts().to_dict() if len(targets) else {}
        # Settled: the scheduler is steady, exactly the desired tasks run and none
        # is starting or stopping, and each of them is a healthy target.
        desired = service["desiredCount"]
        self.settled = (is_steady(service) and len(wanted) == len(tasks) == desired
                        and set(by_state) <= {"RUNNING"}
                        and set(by_health) <= {"healthy"}
                        and by_health.get("healthy", 0) == desired)
        mark = "&#10004; steady state" if self.settled else "converging&hellip;"
        simulated = " (simulated by the emulator)" if self.lab.session.is_local else ""
        self.header.value = (
            f"<b>{html.escape(service['serviceName'])}</b>{simulated}: desired "
            f"<b>{desired}</b>, running <b>{service['runningCount']}</b>, pending "
            f"<b>{service.get('pendingCount', 0)}</b> &mdash; {mark}")
        self.tasks.value = _counts_html("tasks by state", by_state)
        self.targets.value = _counts_html("targets by health", by_health)

    def refresh(self) -> dict:
        service = self.lab.service()
        self.show(service)
        return service

    def watch(self, timeout: float | None = None) -> dict:
        """Update the view until the service is steady and its targets healthy.

        Raises ``TimeoutError`` after ``timeout`` seconds (default: 180 on the
        emulator, 900 on AWS).
        """
        if timeout is None:
            timeout = 180 if self.lab.session.is_local else 900
        interval = self.lab.poll_interval
        deadline = time.monotonic() + timeout
        while True:
            service = self.refresh()
            if self.settled:
                return {k: service[k] for k in ("desiredCount", "runningCount",
                                                "pendingCount")}
            if time.monotonic() + interval > deadline:
                raise TimeoutError(
                    f"service {service['serviceName']} has not settled after "
                    f"{timeout:.0f}s: {service['runningCount']}/"
                    f"{service['desiredCount']} running")
            time.sleep(interval)


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

    def _scale_to(self, wanted: int) -> None:
        self.lab.scale(wanted)
        self.status.value = f"desired count set to <b>{wanted}</b>"
        if self.view is not None:
            self.view.watch()
            self.status.value += " &mdash; steady"

    def _show_error(self, error: Exception) -> None:
        # AWS's messages name ARNs: mask the account id in the widget and the log.
        self.status.value = (f"<span style='color:#cf222e'>"
                             f"{html.escape(mask(str(error)))}</span>")
        log.warning("scaling failed: %s", Masked(error))

    def _apply(self, _button=None) -> None:
        # A click has no cell to raise in: the error is shown in the widget.
        try:
            self._scale_to(int(self.count.value))
        except Exception as error:
            self._show_error(error)

    def scale(self, count: int) -> None:
        """Do what typing ``count`` and clicking the button does; errors raise."""
        self.count.value = count
        try:
            self._scale_to(count)
        except Exception as error:
            self._show_error(error)
            raise


def scale_control(lab, view: ServiceView | None = None) -> ScaleControl:
    return ScaleControl(lab, view)
