"""Show an exercise verdict: an ipywidgets panel with a hint button in JupyterLab, and the same
verdict as plain text wherever widgets do not render (nbconvert, CI, a terminal, a notebook
viewer).

One display does both: :class:`VerdictPanel` is a widget whose ``text/plain`` form is the
verdict (and, when the answer is not right yet, the hint). Front ends that render widgets show
the panel; everything else shows the text, which is also what strict nbval compares (it skips
``application/vnd.jupyter.widget-view+json``, whose model id is random).

Outside IPython, or without ipywidgets, :func:`show` prints the text. ipywidgets is imported
only when a verdict is shown in a kernel, never when an exercise module is imported.
"""

from __future__ import annotations

import html
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guardlib.course.verdict import Verdict

HINT_LABEL = "Show a hint"


def plain_text(verdict: Verdict, hint: str | None = None) -> str:
    """The verdict as one or two lines: the hint follows only when the answer is not right."""
    text = str(verdict)
    if hint and not verdict.ok:
        text += f"\nHint: {hint}"
    return text


def _in_kernel() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - any IPython oddity means: print
        return False
    return ip is not None and getattr(ip, "kernel", None) is not None


def panel(verdict: Verdict, hint: str | None = None) -> Any:
    """The widget for ``verdict`` (ipywidgets must be importable)."""
    import ipywidgets as widgets

    class VerdictPanel(widgets.VBox):  # type: ignore[misc]
        """A VBox whose plain-text form is the verdict, not the widget's repr."""

        def _repr_mimebundle_(self, **kwargs: Any) -> Any:
            bundle = super()._repr_mimebundle_(**kwargs)
            if isinstance(bundle, tuple):  # (data, metadata)
                data, metadata = bundle
                data = {**data, "text/plain": self.guardlib_text}
                return data, metadata
            if isinstance(bundle, dict):
                return {**bundle, "text/plain": self.guardlib_text}
            return bundle

    colour = "#1a7f37" if verdict.ok else "#9a6700"
    message = widgets.HTML(
        f'<div style="font-weight:600;color:{colour}">{html.escape(str(verdict))}</div>'
    )
    children: list[Any] = [message]
    if hint and not verdict.ok:
        button = widgets.Button(description=HINT_LABEL, icon="lightbulb-o", tooltip=HINT_LABEL)
        shown = widgets.HTML("")

        def reveal(_: Any) -> None:
            shown.value = f"<div><b>Hint:</b> {html.escape(hint)}</div>"
            button.disabled = True

        button.on_click(reveal)
        children += [button, shown]
    box = VerdictPanel(children)
    box.guardlib_text = plain_text(verdict, hint)
    box.add_class("guardlib-verdict")
    return box


def show(verdict: Verdict, hint: str | None = None) -> None:
    """Display ``verdict``: a panel in a kernel with ipywidgets, plain text anywhere else."""
    if _in_kernel():
        try:
            box = panel(verdict, hint)
        except ImportError:
            box = None
        if box is not None:
            from IPython.display import display

            display(box)
            return
    print(plain_text(verdict, hint))
