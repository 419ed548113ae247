"""The parts of a Jupyter notebook where a secret lands, as text to scan.

- every cell's source, and every output: streams, ``text/*`` and JSON data, tracebacks,
  however long the line (``print(dict(os.environ))`` prints one line);
- cell metadata and the notebook's metadata (a kernel's ``env`` in a kernelspec, a tool's
  settings);
- papermill's ``parameters`` (``metadata.papermill.parameters``), written as the assignments
  they were injected as, so a parameter's name is the keyword the detectors see;
- saved ipywidgets state (``metadata.widgets``, saved by "Save Widget State"): a ``Password``
  widget's value is reported as it is (a password field holds a password by definition), and
  other widgets' values are scanned under their label, so ``Text(description="API key")``
  holding a token reads as ``api_key = "..."``.

Images and widget views carry no text and are skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
#: the kind of a saved Password widget's value
KIND_PASSWORD_WIDGET = "Password widget value"  # pragma: allowlist secret
_PASSWORD_MODELS = frozenset({"PasswordModel"})
#: cell metadata keys that Jupyter itself writes (no text of the user's)
_PLAIN_CELL_METADATA = frozenset(
    {"tags", "execution", "collapsed", "scrolled", "editable", "deletable", "jupyter",
     "slideshow", "trusted", "id"}
)  # fmt: skip


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=1, ensure_ascii=False)


def _label(text: str) -> str:
    return re.sub(r"\W+", "_", text).strip("_").lower() or "value"


class Chunk:
    """A part of a notebook: where it is, its lines, a pseudo file name that tells the
    detectors its language, and values to report as they are (a Password widget's)."""

    __slots__ = ("where", "lines", "name", "direct")

    def __init__(
        self, where: str, text: str, name: str, direct: list[tuple[int, str, str]] | None = None
    ) -> None:
        self.where = where
        self.lines = text.splitlines()
        self.name = name
        self.direct = direct or []


def _outputs(index: int, cell: dict) -> Iterator[Chunk]:
    chunks: list[str] = []
    metadata: list[str] = []
    for output in cell.get("outputs", []) or []:
        if not isinstance(output, dict):
            continue
        if "text" in output:
            chunks.append(_text(output["text"]))
        data = output.get("data") or {}
        if isinstance(data, dict):
            for mime, value in data.items():
                if mime.startswith("text/") or mime.endswith("json") and "widget" not in mime:
                    chunks.append(_text(value))
        if output.get("ename") or output.get("evalue"):
            chunks.append(f"{output.get('ename', '')}: {output.get('evalue', '')}")
        if "traceback" in output:
            chunks.append("\n".join(map(str, output.get("traceback") or [])))
        if output.get("metadata"):
            metadata.append(_text(output["metadata"]))
    if chunks:
        yield Chunk(f"cell {index} output", "\n".join(chunks), "output.txt")
    if metadata:
        yield Chunk(f"cell {index} output metadata", "\n".join(metadata), "metadata.json")


def _papermill(nb_metadata: dict) -> Iterator[Chunk]:
    papermill = nb_metadata.get("papermill")
    parameters = papermill.get("parameters") if isinstance(papermill, dict) else None
    if isinstance(parameters, dict) and parameters:
        text = "\n".join(
            f"{name} = {json.dumps(value, ensure_ascii=False)}"
            for name, value in parameters.items()
        )
        yield Chunk("papermill parameters", text, "parameters.py")


def _widgets(nb_metadata: dict) -> Iterator[Chunk]:
    widgets = nb_metadata.get("widgets")
    saved = widgets.get(WIDGET_STATE) if isinstance(widgets, dict) else None
    state = saved.get("state") if isinstance(saved, dict) else None
    if not isinstance(state, dict):
        return
    lines: list[str] = []
    direct: list[tuple[int, str, str]] = []
    for model in state.values():
        if not isinstance(model, dict) or not isinstance(model.get("state"), dict):
            continue
        fields = model["state"]
        value = fields.get("value")
        if not isinstance(value, str) or not value.strip():
            continue
        name = str(model.get("model_name", ""))
        label = _label(str(fields.get("description") or fields.get("placeholder") or name))
        lines.append(f"{label} = {json.dumps(value, ensure_ascii=False)}")
        if name in _PASSWORD_MODELS:
            direct.append((len(lines), KIND_PASSWORD_WIDGET, value))
    if lines:
        yield Chunk("widget state", "\n".join(lines), "widgets.py", direct)


def chunks(nb: Any) -> Iterator[Chunk]:
    """Every part of a parsed notebook worth scanning (raises ``ValueError`` when ``nb`` is
    not a notebook: not a JSON object with a list of cells)."""
    if not isinstance(nb, dict) or not isinstance(nb.get("cells", []), list):
        raise ValueError("not a notebook (no list of cells)")
    for index, cell in enumerate(nb.get("cells", []), start=1):
        if not isinstance(cell, dict):
            raise ValueError(f"cell {index} is not an object")
        source = _text(cell.get("source", ""))
        kind = cell.get("cell_type")
        yield Chunk(f"cell {index} source", source, "cell.py" if kind == "code" else "cell.md")
        yield from _outputs(index, cell)
        metadata = cell.get("metadata")
        if isinstance(metadata, dict) and set(metadata) - _PLAIN_CELL_METADATA:
            yield Chunk(f"cell {index} metadata", _text(metadata), "metadata.json")
    nb_metadata = nb.get("metadata")
    if isinstance(nb_metadata, dict):
        rest = {k: v for k, v in nb_metadata.items() if k != "widgets"}
        if isinstance(rest.get("papermill"), dict):  # its parameters are scanned on their own
            rest["papermill"] = {k: v for k, v in rest["papermill"].items() if k != "parameters"}
        if rest:
            yield Chunk("notebook metadata", _text(rest), "metadata.json")
        yield from _papermill(nb_metadata)
        yield from _widgets(nb_metadata)
