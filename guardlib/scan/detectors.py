"""The detection engine: detect-secrets' plugins and filters, plus guardlib's own patterns
(:mod:`guardlib.scan.patterns`) for the kinds detect-secrets does not know, minus decoys.

detect-secrets is imported only when a scan starts (``import guardlib`` stays light), and its
settings are entered once per scan (entering them per file rebuilds every plugin).
A :class:`Hit` keeps the value in memory only long enough to apply the allow-list and the
decoy rules; what leaves this module is a :class:`~guardlib.scan.findings.Finding`, which
holds the SHA-1 fingerprint and never the value.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from .findings import allowed, fingerprint
from .patterns import find_patterns, is_decoy

#: kinds that say "looks random" or "named like a secret", not which credential it is
GENERIC_KINDS = frozenset(
    {"Base64 High Entropy String", "Hex High Entropy String", "Secret Keyword"}
)


#: the longest line detect-secrets is given whole (see :meth:`Engine._ds_lines`)
SEGMENT = 400
_OVERLAP = 150
_CUT = re.compile(r"(?<=[,;&\s])")


def segments(line: str) -> list[str]:
    """``line`` cut into pieces of at most :data:`SEGMENT` characters, after separators
    where it has them; a piece without one is cut with an overlap, so a value up to
    ``_OVERLAP`` characters long is whole in some piece."""
    if len(line) <= SEGMENT:
        return [line]
    pieces: list[str] = []
    current = ""
    for token in _CUT.split(line):
        if len(current) + len(token) <= SEGMENT:
            current += token
            continue
        if current:
            pieces.append(current)
        current = ""
        if len(token) <= SEGMENT:
            current = token
        else:
            step = SEGMENT - _OVERLAP
            pieces += [token[i : i + SEGMENT] for i in range(0, len(token) - _OVERLAP, step)]
    if current:
        pieces.append(current)
    return pieces


@dataclasses.dataclass(frozen=True)
class Hit:
    line: int
    kind: str
    fingerprint: str
    value: str = dataclasses.field(repr=False, compare=False)


class Engine:
    """One scan's detectors: ``with Engine(allow) as engine: engine.file_hits(path)``."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.allow = frozenset(allow)
        self._stack = ExitStack()
        #: values the last call dropped as allowed or decoys (a notebook's raw pass skips them)
        self.dropped: list[str] = []

    def __enter__(self) -> Engine:
        from detect_secrets.settings import default_settings

        self._stack.enter_context(default_settings())
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    # -- detect-secrets ---------------------------------------------------------------------
    def _ds_file(self, path: Path) -> Iterator[tuple[int, str, str]]:
        """detect-secrets' own file scan, as ``detect-secrets scan`` runs it on this file
        (its YAML and INI transformers pick the file by name; the eager ones run only when the
        plain lines yield nothing), through :func:`_plugins_on_lines`."""
        from detect_secrets.core.scan import _get_lines_from_file, _is_filtered_out

        name = str(path)
        if _is_filtered_out(required_filter_parameters=["filename"], filename=name):
            return
        try:
            for lines in _get_lines_from_file(name):
                found = list(_plugins_on_lines(list(enumerate(lines, start=1)), name))
                for secret in found:
                    yield secret.line_number, secret.type, secret.secret_value or ""
                if found:
                    break
        except (OSError, UnicodeDecodeError):
            return

    def _ds_lines(self, lines: list[str], name: str) -> Iterator[tuple[int, str, str]]:
        """detect-secrets' line plugins and filters on lines held in memory; ``name`` is a
        pseudo file name whose extension picks the keyword detector's language rules.

        A line longer than :data:`SEGMENT` is given to detect-secrets in segments (cut after
        ``,`` ``;`` ``&`` or a space, else every ``SEGMENT`` characters with an overlap), and
        its findings keep the line's number: detect-secrets' keyword patterns take time
        quadratic in a line's length (8 KB of ``password`` takes it 20 s), and a key in a
        dict printed on one line reads best item by item."""
        numbered: list[tuple[int, str]] = []
        origin: list[int] = []
        for number, line in enumerate(lines, start=1):
            for piece in segments(line):
                numbered.append((len(numbered) + 1, piece))
                origin.append(number)
        for secret in _plugins_on_lines(numbered, name):
            yield origin[secret.line_number - 1], secret.type, secret.secret_value or ""

    # -- both, merged -------------------------------------------------------------------------
    def _merge(
        self, found: Iterable[tuple[int, str, str]], lines: list[str], name: str
    ) -> list[Hit]:
        """detect-secrets' hits and guardlib's, one per value: where two overlap on a line (one
        value holds the other), the specific kind (``GitHub Token``) wins over a generic one
        (``Base64 High Entropy String``), and the whole token over a part of it."""
        candidates = [*found, *find_patterns(lines, name)]
        # specific kinds first, and the longest value first among them: detect-secrets' GitHub
        # detector captures only the prefix ("ghp"), so every GitHub token would share one
        # fingerprint (and one baseline entry would accept them all)
        candidates.sort(key=lambda c: (c[1] in GENERIC_KINDS, -len(c[2])))
        hits: list[Hit] = []
        for line, kind, value in candidates:
            if not value or any(
                h.line == line and (value in h.value or h.value in value) for h in hits
            ):
                continue
            hits.append(Hit(line, kind, fingerprint(value), value))
        kept = []
        self.dropped = []
        for hit in hits:
            text = lines[hit.line - 1] if 0 < hit.line <= len(lines) else ""
            if allowed(hit.value, self.allow) or is_decoy(hit.value, text):
                self.dropped.append(hit.value)
                continue
            kept.append(hit)
        return sorted(kept, key=lambda h: (h.line, h.kind, h.fingerprint))

    def file_hits(self, path: Path, text: str) -> list[Hit]:
        """A file on disk: detect-secrets' file scan (its own, unless a line is too long for
        it) plus guardlib's patterns on ``text``."""
        lines = text.splitlines()
        if any(len(line) > SEGMENT for line in lines):
            return self._merge(self._ds_lines(lines, path.name), lines, path.name)
        return self._merge(self._ds_file(path), lines, path.name)

    def line_hits(self, lines: list[str], name: str = "chunk.txt") -> list[Hit]:
        """Lines held in memory (a notebook cell, a history entry)."""
        if not any(line.strip() for line in lines):
            self.dropped = []
            return []
        return self._merge(self._ds_lines(lines, name), lines, name)


_CHECKS: dict[str, Any] = {}


def _plugins_on_lines(lines: list[tuple[int, str]], filename: str) -> Iterator[Any]:
    """detect-secrets' ``_process_line_based_plugins`` (1.5), the same plugins, filters and
    order, minus the calls that cannot find anything: a regex plugin whose patterns do not
    match the line, the keyword plugin on a line without one of its keywords, the entropy
    plugins on a line without a quote (their only pattern is a quoted string). detect-secrets
    calls every plugin on every line through its dependency injection, which is most of a
    scan's time; the labelled corpus (bench/bench_scan.py) checks nothing is lost."""
    from detect_secrets.core.scan import _is_filtered_out, _scan_line
    from detect_secrets.settings import get_plugins
    from detect_secrets.util.code_snippet import get_code_snippet

    plugins = get_plugins()
    key = tuple(map(id, plugins))
    if _CHECKS.get("key") != key:  # detect-secrets' settings changed: new plugin objects
        _CHECKS.update(key=key, checks=[(plugin, _may_match(plugin)) for plugin in plugins])
    checks = _CHECKS["checks"]
    content = [line for _, line in lines]
    for number, raw in lines:
        line = raw.rstrip()
        candidates = [plugin for plugin, may in checks if may(line)]
        if not candidates:
            continue
        context = get_code_snippet(lines=content, line_number=number)
        if _is_filtered_out(
            required_filter_parameters=["line"], filename=filename, line=line, context=context
        ):
            continue
        for plugin in candidates:
            for secret in _scan_line(
                plugin=plugin, filename=filename, line=line, line_number=number, context=context
            ):
                if not _is_filtered_out(
                    required_filter_parameters=["context"],
                    filename=secret.filename,
                    secret=secret.secret_value,
                    plugin=plugin,
                    line=line,
                    context=context,
                ):
                    yield secret


def _may_match(plugin: Any) -> Any:
    """A cheap test that is true of every line ``plugin`` can report something on."""
    from detect_secrets.plugins.base import RegexBasedDetector
    from detect_secrets.plugins.high_entropy_strings import HighEntropyStringsPlugin
    from detect_secrets.plugins.keyword import DENYLIST, KeywordDetector

    kind = type(plugin)
    if isinstance(plugin, RegexBasedDetector) and (
        kind.analyze_line is RegexBasedDetector.analyze_line
    ):
        patterns = list(plugin.denylist)
        return lambda line: any(p.search(line) for p in patterns)
    if kind is KeywordDetector:
        keywords = re.compile("|".join(DENYLIST), re.IGNORECASE)
        return keywords.search
    if isinstance(plugin, HighEntropyStringsPlugin):
        return lambda line: "'" in line or '"' in line
    return lambda line: True


def settings_document() -> dict[str, Any]:
    """detect-secrets' ``plugins_used`` and ``filters_used`` for a baseline."""
    from detect_secrets.settings import default_settings, get_settings

    with default_settings():
        return dict(get_settings().json())
