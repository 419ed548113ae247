"""The course's chapters: number, file, title and measured minutes, in one place.

The README's course map, the facilitator guide's chapter table and chapter 00's course map all
follow this list (``tests/test_chapters.py`` checks them, and each chapter's "Time to learn").
The minutes are what ``python bench/bench_chapter_minutes.py`` measures for each chapter
(self-paced: reading, code, outputs, running, the exercise), never a guess: when a chapter
changes, measure again and update its row here, in the guide's table and in the chapter.

A new chapter adds its row here when its notebook exists (the test wants exactly one row per
notebook in ``notebooks/``), and a row to the README's course map.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Chapter:
    number: str  # two digits, "00"
    file: str  # the notebook's file name in notebooks/ (and in a learner's my-work/)
    title: str  # as the README's course map shows it (Markdown)
    minutes: int  # measured by bench/bench_chapter_minutes.py, rounded up to 5

    @property
    def plain_title(self) -> str:
        """The title without Markdown's backticks, for plain text."""
        return self.title.replace("`", "")


CHAPTERS: tuple[Chapter, ...] = (
    Chapter("00", "00_welcome.ipynb", "Welcome", 15),
    Chapter("01", "01_hardcoded_secrets.ipynb", "Hardcoded secrets", 20),
    Chapter("02", "02_environment_variables.ipynb", "Environment variables", 20),
    Chapter("03", "03_dotenv_files.ipynb", "`.env` files", 30),
    Chapter("04", "04_limits_of_env_vars.ipynb", "Limits of environment variables", 25),
    Chapter("05", "05_identities_access.ipynb", "Identities and access control", 35),
    Chapter("06", "06_azure_key_vault.ipynb", "Azure Key Vault", 35),
    Chapter("07", "07_aws_secrets_manager.ipynb", "AWS Secrets Manager", 40),
    Chapter("08", "08_gcp_secret_manager.ipynb", "GCP Secret Manager", 35),
    Chapter("09", "09_vault_openbao.ipynb", "HashiCorp Vault on-premises (OpenBao)", 35),
    Chapter("10", "10_putting_it_together.ipynb", "Putting it together", 45),
    Chapter("11", "11_keyless_deploys.ipynb", "Keyless deploys", 55),
    Chapter("12", "12_encrypted_files.ipynb", "Secrets in git, encrypted", 55),
    Chapter("13", "13_notebook_secrets.ipynb", "Secrets in your own notebooks", 40),
    Chapter("14", "14_leak_hunt.ipynb", "The leak hunt", 30),
)


def by_number(number: str) -> Chapter:
    """The chapter numbered ``number`` ("5" or "05"); ``KeyError`` if there is none."""
    for chapter in CHAPTERS:
        if chapter.number == number.zfill(2):
            return chapter
    raise KeyError(number)


def total_minutes(chapters: tuple[Chapter, ...] = CHAPTERS) -> int:
    return sum(c.minutes for c in chapters)


def hours_and_minutes(minutes: int) -> str:
    """``385`` -> ``"6 hours 25 minutes"``."""
    hours, rest = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if rest or not hours:
        parts.append(f"{rest} minute{'s' if rest != 1 else ''}")
    return " ".join(parts)


def present(folder: str | Path) -> tuple[Chapter, ...]:
    """The chapters whose notebook is in ``folder`` (a learner's ``my-work/``, ``notebooks/``)."""
    base = Path(folder)
    return tuple(c for c in CHAPTERS if (base / c.file).is_file())


def course_map(chapters: tuple[Chapter, ...] = CHAPTERS) -> str:
    """The chapters and their minutes as plain text, with the total (chapter 00 shows it)."""
    width = max(len(c.plain_title) for c in chapters)
    lines = [f"{c.number}  {c.plain_title:<{width}}  {c.minutes:>3} min" for c in chapters]
    total = total_minutes(chapters)
    lines.append(f"{'':2}  {'all chapters':<{width}}  {total:>3} min ({hours_and_minutes(total)})")
    return "\n".join(lines)
