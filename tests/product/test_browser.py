"""End to end in a real browser: JupyterLab + Debian's Chromium (driven by Playwright).

JupyterLab runs on 127.0.0.1 with a token, its own config/settings/runtime folders and a state
folder of its own for the local engine. Chromium opens a demo notebook, runs every cell through
JupyterLab's command registry (``window.jupyterapp``, exposed by
``--LabApp.expose_app_in_browser``) and waits until the *live* status widget says what it must:

* ``01_quickstart``: the graph's nodes turn Succeeded (read from the SVG's ``data-phase`` and
  the node's fill colour), the header badge says Succeeded with progress 2/2 and both task rows
  say Succeeded. The widget was displayed while the workflow was still Pending, so reaching
  Succeeded proves that updates (patches of single parts) from the kernel's poll thread arrive.
* ``06_debugging_a_failing_task``: the failed task's traceback (``ZeroDivisionError``) appears
  inside the widget, under the Failed row, and the task after it is Omitted; a click on the
  failed node of the graph shows its traceback in the panel under the widget.

Screenshots go to ``tests/artifacts/``. The README's pictures (``docs/widget.png``,
``docs/graph-failed-task.png``) are rewritten only when missing or when
``HERA_MAGICS_UPDATE_SCREENSHOT=1`` is set, so that running the tests does not change a
committed file.

Everything is a deadline wait on a condition; nothing measures time.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from hera_magics.local import stop_engine
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
NOTEBOOK_DIR = REPO_ROOT / "demo_notebooks"
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
README_SCREENSHOT = REPO_ROOT / "docs" / "widget.png"
README_FAILED_SCREENSHOT = REPO_ROOT / "docs" / "graph-failed-task.png"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_SECONDS = 90
PAGE_SECONDS = 90
RUN_SECONDS = 90
WIDGET_SELECTOR = ".jp-OutputArea-output .hera-magics-live .hera-magics-status"
PHASE_COLOURS = {"Succeeded": "#2e7d32", "Failed": "#c62828", "Omitted": "#9e9e9e"}

if not CHROMIUM.exists():  # .ci/run installs it, so in CI this test always runs
    pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)",
                allow_module_level=True)
playwright_sync = pytest.importorskip("playwright.sync_api")
pytest.importorskip("jupyterlab")


@dataclass
class Lab:
    url: str  # ends in /
    token: str
    root: Path
    state: Path
    log: Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lab_environment(base: Path, state: Path) -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ARGO_", "HERA_TOKEN", "GLOBAL_CONFIG_", "JUPYTER", "JPY_"))
        and name not in ("JUPYTERHUB_USER", "PREFERRED_USERNAME")
    }
    folders = {
        "JUPYTER_CONFIG_DIR": base / "config",
        "JUPYTER_DATA_DIR": base / "data",
        "JUPYTER_RUNTIME_DIR": base / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": base / "settings",
        "JUPYTERLAB_WORKSPACES_DIR": base / "workspaces",
        "IPYTHONDIR": base / "ipython",
    }
    for name, folder in folders.items():
        folder.mkdir(parents=True, exist_ok=True)
        environment[name] = str(folder)
    # No news, no update checks, no toasts over the screenshot.
    notification = base / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True}))
    environment["HERA_MAGICS_STATE_DIR"] = str(state)
    return environment


def wait_until_answering(process: subprocess.Popen, url: str, token: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"{url}api/status?token={token}", timeout=2) as answer:
                if answer.status == 200:
                    return
        time.sleep(0.2)
    pytest.fail(f"JupyterLab did not answer within {SERVER_START_SECONDS}s:\n{log.read_text(errors='replace')[-3000:]}")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # stdin is not a terminal: Jupyter stops without asking
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
    if process.poll() is None:
        process.kill()
        process.wait(timeout=15)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "root"
    root.mkdir()
    for name in ("01_quickstart.ipynb", "06_debugging_a_failing_task.ipynb"):
        shutil.copy(NOTEBOOK_DIR / name, root / name)
    state = base / "state"
    log = base / "jupyterlab.log"
    port = free_port()
    token = secrets.token_hex(16)
    command = [
        sys.executable, "-m", "jupyter", "lab",
        "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    url = f"http://127.0.0.1:{port}/"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
                                   env=lab_environment(base, state), cwd=root)
    try:
        wait_until_answering(process, url, token, log)
        yield Lab(url=url, token=token, root=root, state=state, log=log)
    finally:
        try:
            stop_server(process)
        finally:
            stop_engine(state)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_sync.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


# --- JavaScript run in the page. `panel()` is the notebook in front; every query is scoped to it.

PANEL_JS = "const panel = () => window.jupyterapp && window.jupyterapp.shell.currentWidget;"

KERNEL_IDLE_JS = PANEL_JS + """
(path) => {
  const p = panel();
  if (!p || !p.context || p.context.path !== path || !p.sessionContext) return false;
  const session = p.sessionContext.session;
  return !!(session && session.kernel && session.kernel.status === 'idle');
}"""

ALL_CELLS_RAN_JS = PANEL_JS + """
() => {
  const p = panel();
  const session = p && p.sessionContext && p.sessionContext.session;
  if (!session || !session.kernel || session.kernel.status !== 'idle') return false;
  return p.content.widgets.every(cell => cell.model.type !== 'code' || cell.model.executionCount !== null);
}"""

# Each status widget of the notebook in front, as {header, rows: [[task, phase]], tails: [text]}.
WIDGETS_JS = PANEL_JS + """
(selector) => {
  const p = panel();
  if (!p) return [];
  return [...p.node.querySelectorAll(selector)].map(view => ({
    header: view.firstElementChild ? view.firstElementChild.textContent : '',
    rows: [...view.querySelectorAll('tbody > tr')]
      .filter(row => row.children.length === 6)
      .map(row => [row.children[0].textContent, row.children[1].textContent]),
    tails: [...view.querySelectorAll('tbody pre')].map(pre => pre.textContent),
    nodes: [...view.querySelectorAll('svg.hm-graph g[data-node]')].map(node => [
      node.getAttribute('data-node'), node.getAttribute('data-phase'),
      node.querySelector('rect:not([opacity])').getAttribute('stroke')]),
    panel: (() => {
      const live = view.closest('.jp-OutputArea-output');
      const box = live && live.querySelectorAll('.widget-html-content');
      return box && box.length ? box[box.length - 1].textContent : '';
    })(),
  }));
}"""


def widgets(page: Any) -> list[dict[str, Any]]:
    return page.evaluate(WIDGETS_JS, WIDGET_SELECTOR)


def wait_for(page: Any, condition: Any, what: str, timeout: float = RUN_SECONDS) -> Any:
    """Poll ``condition(page)`` until it returns something true; fail with the widgets' state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition(page)
        if result:
            return result
        page.wait_for_timeout(250)
    pytest.fail(f"timed out waiting for {what}; widgets now: {json.dumps(widgets(page), indent=1)}")


def open_notebook(page: Any, lab: Lab, name: str, *, first: bool) -> None:
    if first:
        page.goto(f"{lab.url}lab/tree/{name}?reset&token={lab.token}")
        page.wait_for_function("window.jupyterapp !== undefined", timeout=PAGE_SECONDS * 1000)
    else:
        # Returns nothing: the opened widget is no value Playwright can serialise.
        page.evaluate("async (path) => { await window.jupyterapp.commands.execute('docmanager:open', {path}); }", name)
    page.wait_for_function(KERNEL_IDLE_JS, arg=name, timeout=PAGE_SECONDS * 1000)
    dismiss_notifications(page)


def run_all_cells(page: Any) -> None:
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")


def dismiss_notifications(page: Any) -> None:
    page.evaluate("""() => {
      document.querySelectorAll('.Toastify__close-button, .jp-Notification-Toast-Close').forEach(b => b.click());
    }""")


def assert_no_errors_shown(page: Any) -> None:
    """No cell of the notebook in front shows an error, stderr or a broken widget."""
    problems = page.evaluate(PANEL_JS + """
    () => {
      const node = panel().node;
      const stderr = [...node.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
        .map(output => output.textContent);
      const broken = node.textContent.includes('Error displaying widget') ? ['Error displaying widget'] : [];
      return stderr.concat(broken);
    }""")
    assert problems == []


def widget_cell(page: Any, index: int = 0) -> Any:
    """The notebook cell around the ``index``-th status widget of the notebook in front."""
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").filter(
        has=page.locator(WIDGET_SELECTOR)).nth(index)


def screenshot(page: Any, cell: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    dismiss_notifications(page)
    cell.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"{name}-page.png"))
    path = ARTIFACTS / f"{name}-widget.png"
    cell.screenshot(path=str(path))
    return path


# --- the conditions


def quickstart_succeeded(page: Any) -> bool:
    views = widgets(page)
    if len(views) != 1:
        return False
    view = views[0]
    phases = dict(view["rows"])
    drawn = {key: (phase, colour) for key, phase, colour in view["nodes"]}
    return (
        drawn == {"hello-world": ("Succeeded", PHASE_COLOURS["Succeeded"]),
                  "multiline-function": ("Succeeded", PHASE_COLOURS["Succeeded"])}
        and
 view["header"].startswith("01-quickstart-")
        and " Succeeded " in view["header"] + " "
        and "progress 2/2" in view["header"]
        and phases == {"hello-world": "Succeeded", "multiline-function": "Succeeded"}
    )


def traceback_shown(page: Any) -> bool:
    views = widgets(page)
    if not views:
        return False
    failed = views[0]
    phases = dict(failed["rows"])
    return (
        "Failed" in failed["header"]
        and phases == {"load-data": "Succeeded", "compute-ratios": "Failed", "report": "Omitted"}
        and any("Traceback (most recent call last):" in tail and "ZeroDivisionError: division by zero" in tail
                for tail in failed["tails"])
    )


def traceback_in_panel(page: Any) -> bool:
    views = widgets(page)
    return bool(views) and "ZeroDivisionError: division by zero" in views[0]["panel"] \
        and "compute-ratios · Failed" in views[0]["panel"]


def test_live_widget_in_jupyterlab(lab: Lab, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.on("pageerror", lambda error: print(f"page error: {error}"))

        # 01: two tasks; the widget turns from Pending to Succeeded on its own.
        open_notebook(page, lab, "01_quickstart.ipynb", first=True)
        run_all_cells(page)
        wait_for(page, quickstart_succeeded, "01's widget to show both tasks Succeeded")
        page.wait_for_function(ALL_CELLS_RAN_JS, timeout=RUN_SECONDS * 1000)
        view = widgets(page)[0]
        assert not any(phase in ("Running", "Pending") for _, phase in view["rows"])
        # The widget is live (ipywidgets), with its buttons: not the static HTML fallback.
        assert page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .widget-button", has_text="refresh").count() == 1
        assert_no_errors_shown(page)
        picture = screenshot(page, widget_cell(page), "01_quickstart")
        if not README_SCREENSHOT.exists() or os.environ.get("HERA_MAGICS_UPDATE_SCREENSHOT") == "1":
            shutil.copy(picture, README_SCREENSHOT)

        # 06: a task raises; its traceback appears inside the widget.
        open_notebook(page, lab, "06_debugging_a_failing_task.ipynb", first=False)
        run_all_cells(page)
        wait_for(page, traceback_shown, "06's widget to show the failed task's traceback")
        page.wait_for_function(ALL_CELLS_RAN_JS, timeout=RUN_SECONDS * 1000)
        assert_no_errors_shown(page)
        drawn = {key: phase for key, phase, _ in widgets(page)[0]["nodes"]}
        assert drawn == {"load-data": "Succeeded", "compute-ratios": "Failed", "report": "Omitted"}
        # A click on the failed node shows its traceback in the panel under the widget.
        failed_node = widget_cell(page).locator('svg.hm-graph g[data-node="compute-ratios"]')
        failed_node.click()
        wait_for(page, traceback_in_panel, "a click on compute-ratios to show its traceback")
        # The notebook's last widget (the fixed run) ends Succeeded.
        wait_for(page, lambda page: len(widgets(page)) == 2 and " Succeeded " in widgets(page)[1]["header"] + " ",
                 "06's second widget to show Succeeded")
        picture = screenshot(page, widget_cell(page, 0), "06_debugging_a_failing_task")
        if not README_FAILED_SCREENSHOT.exists() or os.environ.get("HERA_MAGICS_UPDATE_SCREENSHOT") == "1":
            shutil.copy(picture, README_FAILED_SCREENSHOT)
    finally:
        page.close()
