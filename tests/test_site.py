"""The rendered site (mkdocs.yml): it builds from the committed notebooks without running them,
and every internal link resolves: chapter to chapter, to the README, to anchors, to assets.

Links to repository files that are not pages go to the repository (``repo_url``): the test
checks that each names a tracked file or folder. Links to other sites are not followed (the
tests run offline).
"""

from __future__ import annotations

import html
import json
import posixpath
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytest.importorskip("mkdocs_jupyter", reason="the site needs guardlib[docs] (mkdocs-jupyter)")

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


class _Page(HTMLParser):
    """The ids of a page and the links it makes (tag, attribute, value)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v for k, v in attrs if v is not None}
        for key in ("id", "name") if tag == "a" else ("id",):
            if key in values:
                self.ids.add(values[key])
        for key in ("href", "src"):
            if key in values and tag in ("a", "img", "link", "script", "source", "iframe"):
                self.links.append((f"<{tag} {key}>", values[key]))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """Build the site with `mkdocs build --strict` into a temporary folder (no cache)."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    site_dir = tmp_path_factory.mktemp("site")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        mp.setenv("NO_MKDOCS_2_WARNING", "1")
        config = load_config(str(ROOT / "mkdocs.yml"), site_dir=str(site_dir), strict=True)
        config.plugins["mkdocs-jupyter"].config["cache"] = False
        build(config)
    yield site_dir, config["repo_url"].rstrip("/")


def _page_file(site_dir: Path, path: str) -> Path:
    target = site_dir / path
    return target / "index.html" if path.endswith("/") or target.is_dir() else target


def _tracked() -> set[str]:
    names = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    out = {n for n in names if n}
    for name in list(out):
        while "/" in name:
            name = name.rsplit("/", 1)[0]
            out.add(name)
    return out


def test_every_chapter_and_the_readme_are_pages(site: tuple[Path, str]) -> None:
    site_dir, _ = site
    assert (site_dir / "index.html").exists()
    assert "Course map" in (site_dir / "index.html").read_text(encoding="utf-8")
    for chapter in CHAPTERS:
        page = site_dir / "notebooks" / chapter.stem / "index.html"
        assert page.exists(), f"no page for {chapter.name}"
        # the .ipynb itself, for the page's download link
        assert (site_dir / "notebooks" / chapter.stem / chapter.name).exists()


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_chapter_pages_show_the_committed_outputs(site: tuple[Path, str], chapter: Path) -> None:
    """Nothing is executed at build time: each page holds the outputs committed in the
    notebook (strict nbval checks those), for example its first printed line."""
    site_dir, _ = site
    page = (site_dir / "notebooks" / chapter.stem / "index.html").read_text(encoding="utf-8")
    for cell in json.loads(chapter.read_text(encoding="utf-8"))["cells"]:
        streams = [o for o in cell.get("outputs", []) if o.get("output_type") == "stream"]
        lines = [line for o in streams for line in "".join(o["text"]).splitlines() if line]
        if lines:
            assert html.escape(lines[0], quote=False) in page, lines[0]
            return
    pytest.skip(f"{chapter.name} prints nothing")


def test_every_internal_link_resolves(site: tuple[Path, str]) -> None:
    site_dir, repo_url = site
    pages: dict[Path, _Page] = {}
    for path in sorted(site_dir.rglob("*.html")):
        parser = _Page()
        parser.feed(path.read_text(encoding="utf-8"))
        pages[path] = parser
    tracked = _tracked()
    broken: list[str] = []
    checked = 0
    for path, parser in pages.items():
        where = path.relative_to(site_dir).as_posix()
        for what, link in parser.links:
            parts = urlsplit(link)
            if link.startswith(repo_url + "/"):
                # a repository file that is not a page: .../blob/main/PATH or .../tree/main/PATH
                rest = link[len(repo_url) + 1 :].split("#", 1)[0]
                kind, _, target = rest.partition("/main/")
                if kind not in ("blob", "tree") or unquote(target) not in tracked:
                    broken.append(f"{where}: {what} {link} (not a tracked file)")
                checked += 1
                continue
            if parts.scheme or parts.netloc:
                continue  # another site (or mailto:, data:): not checked offline
            checked += 1
            if parts.path.startswith("/"):
                # root-relative: breaks when the site is served from a sub-path (as GitHub
                # Pages does); MkDocs' 404 page uses them on purpose (it has no fixed depth)
                if where != "404.html":
                    broken.append(f"{where}: {what} {link} (root-relative)")
                continue
            if parts.path:
                resolved = posixpath.normpath(
                    posixpath.join(posixpath.dirname(where), unquote(parts.path))
                )
                if resolved.startswith(".."):
                    broken.append(f"{where}: {what} {link} (outside the site)")
                    continue
                target = _page_file(site_dir, resolved + ("/" if link.endswith("/") else ""))
            else:
                target = path
            if not target.exists():
                broken.append(f"{where}: {what} {link} (no {target.relative_to(site_dir)})")
                continue
            if parts.fragment and target.suffix == ".html":
                if target not in pages:
                    pages[target] = _Page()
                    pages[target].feed(target.read_text(encoding="utf-8"))
                if unquote(parts.fragment) not in pages[target].ids:
                    broken.append(f"{where}: {what} {link} (no anchor #{parts.fragment})")
    assert checked > 100, f"only {checked} internal links found: is the site empty?"
    assert not broken, "\n".join(broken)


def test_links_between_chapters_and_to_the_readme_are_site_links(site: tuple[Path, str]) -> None:
    """A chapter's link to another chapter or to the README leads to its page, not to GitHub
    or to a raw .ipynb."""
    site_dir, _ = site
    page = (site_dir / "notebooks" / "00_welcome" / "index.html").read_text(encoding="utf-8")
    assert 'href="../01_hardcoded_secrets/"' in page
    for chapter in CHAPTERS:
        text = (site_dir / "notebooks" / chapter.stem / "index.html").read_text(encoding="utf-8")
        assert "README.md#" not in text and 'README.md"' not in text, chapter.name


def test_links_to_repository_files_go_to_the_repository() -> None:
    """A chapter may link to a file that is not a page (`.env.example`, `guardlib/`): the site
    sends it to that file in the repository; a chapter link stays a page link."""
    import importlib.util
    from types import SimpleNamespace

    from mkdocs.structure.files import File, Files

    spec = importlib.util.spec_from_file_location("site_hooks", ROOT / "docs/site/hooks.py")
    assert spec is not None and spec.loader is not None
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    from mkdocs_jupyter.plugin import NotebookFile

    def source(name: str) -> File:
        file = File(name, src_dir=str(ROOT), dest_dir="/site", use_directory_urls=True)
        if name.endswith(".ipynb"):  # as mkdocs-jupyter makes it a page
            return NotebookFile(file, use_directory_urls=True, site_dir="/site")
        return file

    files = Files(
        [source(n) for n in
         ("README.md", "notebooks/00_welcome.ipynb", "notebooks/01_hardcoded_secrets.ipynb")]
    )  # fmt: skip
    page = SimpleNamespace(file=files.get_file_from_path("notebooks/00_welcome.ipynb"))
    config = {"repo_url": "https://github.com/o/r"}

    def fix(target: str) -> str:
        return hooks.rewrite(target, page, files, config, site_links=True)

    assert fix("../.env.example") == "https://github.com/o/r/blob/main/.env.example"
    assert fix("../guardlib/") == "https://github.com/o/r/tree/main/guardlib"
    assert fix("../README.md#course-map") == "../../#course-map"
    assert fix("01_hardcoded_secrets.ipynb") == "../01_hardcoded_secrets/"
    assert fix("https://example.org/x") == "https://example.org/x"
    assert fix("#overview") == "#overview"
    assert fix("../no-such-file.md") == "../no-such-file.md"  # left for the link check to flag
