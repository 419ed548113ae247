"""``sops://`` and ``dotenvx://`` in the reference grammar: every text either parses to a
reference that prints back to itself, or is an InvalidReference that never repeats the text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import guardlib
from guardlib.errors import InvalidReference

TEXT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x250), max_size=40)


@given(st.sampled_from(["sops://", "dotenvx://"]), TEXT)
def test_round_trip_or_a_clean_refusal(scheme: str, rest: str) -> None:
    text = scheme + rest
    try:
        ref = guardlib.parse_reference(text)
    except InvalidReference as error:
        assert rest not in str(error) or len(rest) < 3 or rest in scheme
        assert error.__context__ is None
        return
    assert str(ref) == text
    assert guardlib.parse_reference(str(ref)) == ref
    assert ref.scheme == scheme[:-3]
    assert ref.source.field is None  # one provider call (one decryption) per file


def test_cache_key_is_the_file() -> None:
    a = guardlib.parse_reference("sops://config/app.yaml#db.password")
    b = guardlib.parse_reference("sops://config/app.yaml#api.key")
    assert a.source == b.source and str(a.source) == "sops://config/app.yaml"
