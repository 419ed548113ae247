"""MkDocs hooks for the course site (mkdocs.yml): pages with their repository paths.

This folder is MkDocs' ``docs_dir``; it holds only this file, which is not a page.

- ``on_config``: the navigation: Home (README.md), the chapters in story order, the guides.
- ``on_files``: adds README.md, ``notebooks/NN_*.ipynb`` and ``docs/*.md`` from the repository
  root with their repository paths, before mkdocs-jupyter turns the notebooks into pages (their
  committed outputs, never executed). A relative link therefore means the same on GitHub and
  in the site.
- Links to repository files that are not pages (``.env.example``, ``guardlib/…``) point at the
  file in the repository (``repo_url``): in Markdown pages before MkDocs resolves the rest; in
  chapters, whose HTML comes from nbconvert, every relative link is resolved here.

Standard library and MkDocs only; tests/test_site.py builds the site and checks every link.
"""

from __future__ import annotations

import html as htmllib
import posixpath
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = "notebooks/[0-9][0-9]_*.ipynb"
GUIDES = "docs/*.md"
HOME = "README.md"


def site_sources(root: Path = ROOT) -> list[str]:
    """The repository paths that become pages, home first, then chapters, then guides."""
    found = [HOME] if (root / HOME).exists() else []
    for pattern in (CHAPTERS, GUIDES):
        found += [p.relative_to(root).as_posix() for p in sorted(root.glob(pattern))]
    return found


@cache
def _tracked() -> frozenset[str]:
    """Tracked files and their folders (what a clone has), or every file if git is absent."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        names = [n for n in out.split("\0") if n]
    except (OSError, subprocess.CalledProcessError):
        names = [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*") if p.is_file()]
    folders = {posixpath.dirname(n) for n in names}
    for folder in list(folders):
        while folder:
            folder = posixpath.dirname(folder)
            folders.add(folder)
    return frozenset(names) | {f + "/" for f in folders if f}


def repository_url(config: Any, path: str) -> str:
    kind = "tree" if path.endswith("/") else "blob"
    return f"{config['repo_url'].rstrip('/')}/{kind}/main/{path.rstrip('/')}"


def _split(target: str) -> tuple[str, str] | None:
    """(path, '#fragment' or '') for a relative link; None for anything else."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith(("/", "#")) or not parts.path:
        return None
    return unquote(parts.path), f"#{parts.fragment}" if parts.fragment else ""


def _resolve(page_src: str, path: str) -> str:
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(page_src), path))
    return joined + "/" if path.endswith("/") and joined != "." else joined


def rewrite(target: str, page: Any, files: Files, config: Any, *, site_links: bool) -> str:
    """The link as the site needs it: a page's URL (when ``site_links``), a repository URL for
    a tracked file that is not in the site, or unchanged."""
    split = _split(target)
    if split is None:
        return target
    path, fragment = split
    resolved = _resolve(page.file.src_uri, path)
    if resolved.startswith("../"):  # outside the repository: leave it for the link check
        return target
    in_site = files.get_file_from_path(resolved.rstrip("/"))
    if in_site is not None:
        if not site_links:
            return target  # MkDocs resolves it (and checks the anchor)
        return in_site.url_relative_to(page.file) + fragment
    if resolved in _tracked() or (resolved + "/") in _tracked():
        return repository_url(config, resolved) + fragment
    return target


def on_config(config: Any) -> Any:
    sources = site_sources()
    chapters = [s for s in sources if s.startswith("notebooks/")]
    guides = [s for s in sources if s.startswith("docs/")]
    nav: list[Any] = [{"Home": HOME}, {"Chapters": chapters}]
    if guides:
        nav.append({"Guides": guides})
    config["nav"] = nav
    return config


@event_priority(100)  # before mkdocs-jupyter's on_files turns notebooks into pages
def on_files(files: Files, config: Any) -> Files:
    for source in site_sources():
        if files.get_file_from_path(source) is None:
            files.append(
                File(
                    source,
                    src_dir=str(ROOT),
                    dest_dir=config["site_dir"],
                    use_directory_urls=config["use_directory_urls"],
                )
            )
    return files


_MD_LINK = re.compile(r"(\]\()([^)\s]+)(\))")
_HTML_LINK = re.compile(r"""(\b(?:href|src)=")([^"]+)(")""")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    def fix(match: re.Match[str]) -> str:
        new = rewrite(match.group(2), page, files, config, site_links=False)
        return match.group(1) + new + match.group(3)

    return _HTML_LINK.sub(fix, _MD_LINK.sub(fix, markdown))


_HEADING = re.compile(r'<h[1-6][^>]*\bid="([^"]+)"[^>]*>(.*?)</h[1-6]>', re.S)


def _text(fragment: str, *, code: bool = True) -> str:
    """A heading's visible text (optionally without its code spans)."""
    if not code:
        fragment = re.sub(r"<code>.*?</code>", "", fragment, flags=re.S)
    plain = htmllib.unescape(re.sub(r"<[^>]+>", "", fragment)).replace("¶", "")
    return " ".join(plain.split())


def align_toc(html: str, toc: Any) -> None:
    """Give a chapter's table of contents the ids and titles of its rendered headings.

    mkdocs-jupyter builds the table of contents from a Markdown export that drops code spans
    from headings ("`os.environ`: a dictionary of strings" becomes ": a dictionary of strings",
    slug "a-dictionary-of-strings"), while nbconvert's heading keeps the code and has the id
    "osenviron-a-dictionary-of-strings". Match each entry to the next heading whose text
    without code is the entry's, then take that heading's id and full text."""
    headings = [(hid, body) for hid, body in _HEADING.findall(html)]
    position = 0

    def walk(items: Any) -> None:
        nonlocal position
        for item in items:
            wanted = " ".join(htmllib.unescape(item.title).split())
            for index in range(position, len(headings)):
                heading_id, body = headings[index]
                if _text(body, code=False) == wanted:
                    item.id = heading_id
                    item.title = htmllib.escape(_text(body), quote=False)
                    position = index + 1
                    break
            walk(item.children)

    walk(toc)


def on_page_content(html: str, page: Any, config: Any, files: Files) -> str:
    if not page.file.src_uri.endswith(".ipynb"):
        return html  # MkDocs resolved the links of Markdown pages

    def fix(match: re.Match[str]) -> str:
        new = rewrite(match.group(2), page, files, config, site_links=True)
        return match.group(1) + new + match.group(3)

    align_toc(html, page.toc)
    title = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    if title:  # the chapter's title with its code (the nav and <title> use it)
        page.title = htmllib.escape(_text(title.group(1)), quote=False)
    return _HTML_LINK.sub(fix, html)
