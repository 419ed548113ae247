"""The course in a real browser: JupyterLab as a learner opens it, driven by Playwright.

JupyterLab runs on 127.0.0.1 with a token, rooted at a temporary copy of the repository whose
``my-work/`` course.py's ``prepare_workspace`` filled (the real ``my-work/`` is never touched).
Debian's ``chromium`` (``/usr/bin/chromium``, never a browser that Playwright downloads) opens
chapter 00 and chapter 07 (AWS, the quickest cloud chapter) from ``my-work/``, runs every cell
from the Run menu, and then:

- no cell has an error output unless it is tagged ``raises-exception`` (read from the notebook
  JupyterLab saved, where the tags are);
- the exercise cell, filled in with the chapter's published solution (``solution_blocks``) and
  run, shows the ✅ verdict, printed or in an ipywidgets panel (a hint button, where one is
  shown for the unanswered exercise, is clicked and must show its hint);
- the browser asked for nothing but loopback.

Screenshots go to ``tests/browser/screenshots/`` (git-ignored). Without chromium the test is
skipped with the command that installs it; under CI (``CI`` set) it fails instead, since
``.ci/run`` installs chromium.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from guardlib.course.exercises import solution_blocks

if TYPE_CHECKING:  # playwright is imported only when the browser is there
    from playwright.sync_api import Locator, Page, Route

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = "/usr/bin/chromium"
#: Debian's chromium, headless and quiet: no GPU, no QUIC, and none of the background requests
#: (component updates, sync, field trials) that would try to reach the internet.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHAPTERS = ["00_welcome.ipynb", "07_aws_secrets_manager.ipynb"]
RUN_ALL_TIMEOUT_MS = 150_000
LOOPBACK = {"127.0.0.1", "localhost"}


def _require_browser() -> None:
    reason = None
    if not Path(CHROMIUM).exists():
        reason = (
            f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) "
            "to run the browser test; .ci/run installs it"
        )
    elif importlib.util.find_spec("playwright") is None:
        reason = "playwright is not installed: pip install -e '.[test]'"
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser test: {reason}")
    pytest.skip(reason)


def _course() -> ModuleType:
    spec = importlib.util.spec_from_file_location("course_for_browser", ROOT / "course.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


@dataclass
class Lab:
    root: Path
    url: str
    token: str
    log: Path
    refused: list[str] = field(default_factory=list)

    def open_url(self, relative: str) -> str:
        # ?reset: a fresh workspace, so the page shows this notebook only
        return f"{self.url}lab/tree/{relative}?reset&token={self.token}"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab on loopback, rooted at a copy of the tracked files with a fresh my-work/."""
    _require_browser()
    base = tmp_path_factory.mktemp("lab")
    root = base / "repo"
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, root / name)
    course = _course()
    assert set(CHAPTERS) <= set(course.prepare_workspace(root))

    # JupyterLab's own state in the temporary folder, and nothing that reaches the internet:
    # no news feed, no update check, a read-only extension manager (no PyPI listing).
    settings = base / "lab-settings"
    _write_json(
        settings / "@jupyterlab/apputils-extension/notification.jupyterlab-settings",
        {"fetchNews": "false", "checkForUpdates": False},
    )
    # every cell in the page, so that the test reads each prompt and output
    _write_json(
        settings / "@jupyterlab/notebook-extension/tracker.jupyterlab-settings",
        {"windowingMode": "none"},
    )
    env = course.venv_environment(ROOT, base=dict(os.environ))
    for name in ("config", "data", "runtime", "ipython"):
        (base / name).mkdir()
    env |= {
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_DATA_DIR": str(base / "data"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "IPYTHONDIR": str(base / "ipython"),
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    token = secrets.token_hex(24)
    port = _free_port()
    log = base / "jupyterlab.log"
    args = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={base / 'ws'}",
        "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    with log.open("wb") as out:
        proc = subprocess.Popen(args, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.25)
        yield Lab(root=root, url=url, token=token, log=log)
    finally:
        proc.send_signal(signal.SIGTERM)  # a clean stop: kernels (and their emulators) go too
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser_page(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )

        def only_loopback(route: Route) -> None:
            request_url = route.request.url
            scheme, host = urlsplit(request_url).scheme, urlsplit(request_url).hostname
            if scheme in ("data", "blob") or host in LOOPBACK:
                route.continue_()
            else:
                lab.refused.append(request_url)
                route.abort()

        context.route("**/*", only_loopback)
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            context.close()


def _exercise(notebook: Path) -> tuple[int, str]:
    """The index of the exercise cell (among code cells) and the source a learner ends with:
    the cell with the placeholders replaced by the chapter's last published solution."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    solution = solution_blocks(notebook)[-1].strip("\n")
    first_line = solution.splitlines()[0]
    for index, source in enumerate(code):
        if first_line in source and "..." in source and "check_" in source:
            break
    else:
        raise AssertionError(f"{notebook.name}: no exercise cell starts like {first_line!r}")
    before = source[: source.index(first_line)]
    after = "" if "check_" in solution else source[source.rindex("\n") :]
    return index, before + solution + after


_STATE_JS = """() => ({
    prompts: [...document.querySelectorAll(
        '.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')]
        .map(p => p.textContent.trim()),
    status: document.querySelector('.jp-NotebookPanel '
        + '.jp-Notebook-ExecutionIndicator')?.getAttribute('data-status') ?? null,
})"""


def _wait_for_idle(page: Page, timeout_ms: int) -> None:
    """Every code cell has run (a number in its prompt) and the kernel is idle."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            f"""() => {{
                const s = ({_STATE_JS})();
                return s.prompts.length > 0 && s.prompts.every(p => /^\\[\\d+\\]/.test(p))
                    && (s.status === null || s.status === 'idle');
            }}""",
            timeout=timeout_ms,
        )
    except PlaywrightTimeout:
        state = page.evaluate(_STATE_JS)
        pytest.fail(f"the notebook did not finish running: {state}")


def _accept_kernel(page: Page, panel: Locator) -> None:
    """The notebook's kernel (python3, this environment) is started: if JupyterLab asks which
    kernel to use (it does when the notebook opens before the kernel list has loaded), accept
    its preselected choice, as a learner would."""
    from playwright.sync_api import expect

    kernel_name = panel.locator(".jp-KernelName")
    dialog = page.locator(".jp-Dialog")
    deadline = time.monotonic() + 60
    while "ipykernel" not in (kernel_name.text_content() or ""):
        if dialog.count() and dialog.locator(".jp-mod-accept").count():
            dialog.locator(".jp-mod-accept").click()
        assert time.monotonic() < deadline, f"no kernel: {kernel_name.text_content()!r}"
        time.sleep(0.2)
    expect(panel.locator(".jp-Notebook-ExecutionIndicator")).to_have_attribute(
        "data-status", "idle", timeout=60_000
    )


def _menu(page: Page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).first.click()


def _saved_notebook(lab: Lab, page: Page, name: str) -> dict:
    """File > Save Notebook, then the notebook as JupyterLab wrote it (with its tags)."""
    from playwright.sync_api import expect

    _menu(page, "File", "Save Notebook")
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-current")
    expect(tab).not_to_have_class(re.compile(r"\bjp-mod-dirty\b"), timeout=30_000)
    return json.loads((lab.root / "my-work" / name).read_text(encoding="utf-8"))


def _close_and_shut_down(page: Page) -> None:
    """File > Close and Shut Down Notebook: the kernel (and any emulator it started) stops."""
    from playwright.sync_api import expect

    _menu(page, "File", "Close and Shut Down Notebook…")
    dialog = page.locator(".jp-Dialog")
    dialog.locator(".jp-mod-accept").click()
    expect(page.locator(".jp-NotebookPanel")).to_have_count(0)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_in_jupyterlab_and_its_exercise_check_passes(
    lab: Lab, browser_page: Page, chapter: str
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    stem = chapter.removesuffix(".ipynb")
    page.goto(lab.open_url(f"my-work/{chapter}"))
    panel = page.locator(".jp-NotebookPanel")
    expect(panel.locator(".jp-Notebook .jp-Cell").first).to_be_visible(timeout=60_000)
    expect(panel).to_have_count(1)
    _accept_kernel(page, panel)

    # Edit > Clear Outputs of All Cells, then Run > Run All Cells, as a learner does
    _menu(page, "Edit", "Clear Outputs of All Cells")
    expect(panel.locator(".jp-CodeCell .jp-OutputArea-output")).to_have_count(0)
    _menu(page, "Run", "Run All Cells")
    try:
        _wait_for_idle(page, RUN_ALL_TIMEOUT_MS)
    finally:
        page.screenshot(path=str(SCREENSHOTS / f"{stem}-run-all.png"), full_page=True)

    saved = _saved_notebook(lab, page, chapter)
    counts = [c["execution_count"] for c in saved["cells"] if c["cell_type"] == "code"]
    assert counts == list(range(1, len(counts) + 1)), f"Run All did not run every cell: {counts}"
    unexpected = []
    for number, cell in enumerate(saved["cells"], start=1):
        tags = cell.get("metadata", {}).get("tags", [])
        for output in cell.get("outputs", []):
            if output["output_type"] == "error" and "raises-exception" not in tags:
                unexpected.append(f"cell {number}: {output['ename']}: {output['evalue']}")
    assert not unexpected, "\n".join(unexpected)

    # the exercise: its check has run once with the placeholders (Run All)
    index, answer = _exercise(lab.root / "my-work" / chapter)
    cell = panel.locator(".jp-Notebook .jp-CodeCell").nth(index)
    outputs = cell.locator(".jp-OutputArea")
    expect(outputs).to_contain_text("Not yet")
    hint = outputs.get_by_role("button", name=re.compile("hint", re.I))
    if hint.count():  # the ipywidgets panel: its hint button shows the hint
        hint.first.click()
        expect(outputs).to_contain_text("Hint")

    # fill it in with the published solution and run it (Shift+Enter)
    cell.locator(".cm-content").click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(answer)
    expect(cell.locator(".cm-content")).to_contain_text(answer.splitlines()[-1].strip())
    page.keyboard.press("Shift+Enter")
    try:
        expect(outputs).to_contain_text("✅ Correct!", timeout=60_000)
        expect(outputs).not_to_contain_text("Not yet")
    finally:
        cell.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / f"{stem}-exercise.png"))

    # what JupyterLab ran is the published solution, character for character
    saved = _saved_notebook(lab, page, chapter)
    code = [c for c in saved["cells"] if c["cell_type"] == "code"]
    assert "".join(code[index]["source"]).strip() == answer.strip()

    _close_and_shut_down(page)
    assert not lab.refused, f"the browser tried to leave loopback: {lab.refused}"
