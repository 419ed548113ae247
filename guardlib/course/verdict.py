"""An exercise check's verdict: right or not yet, and why (never a secret value)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str

    def __str__(self) -> str:
        return ("✅ Correct! " if self.ok else "❌ Not yet: ") + self.message
