"""Flags per learner and room; lenient, fair checking; false positives and hints cost points."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from guardlib.course.hunt import flags
from guardlib.course.hunt.challenges import BY_ID, CHALLENGES, FALSE_POSITIVE_PENALTY, in_level
from guardlib.course.hunt.checking import Ledger, judge
from guardlib.course.hunt.generator import AWS_EXAMPLE_KEY_ID, planted_values

ROOM = b"demo-not-a-real-room-secret-0001"


def values_for(learner: str, room: bytes = ROOM) -> dict[str, str]:
    return planted_values(flags.learner_key(room, learner))


def test_two_learners_get_different_flags() -> None:
    ruby, mo = values_for("ruby"), values_for("mo")
    for challenge in CHALLENGES:
        assert ruby[challenge.id] != mo[challenge.id], challenge.id
    ledger = Ledger("hard", CHALLENGES)
    outcome = judge(mo["git-history"], ledger, ruby, {})
    assert outcome.status == "false-positive"  # Mo's answer does not count for Ruby


def test_another_room_gets_different_flags() -> None:
    assert values_for("ruby") != values_for("ruby", b"another-room-secret-000000")
    assert values_for("ruby") == values_for("ruby")


def test_learner_id_from_the_hub_then_the_local_setting() -> None:
    assert flags.learner_id({"JUPYTERHUB_USER": "ruby", "GUARDLIB_HUNT_LEARNER": "x"}) == "ruby"
    assert flags.learner_id({"GUARDLIB_HUNT_LEARNER": "brad"}) == "brad"
    assert flags.learner_id({}).startswith("local-")


def test_room_secret_file_is_generated_once_owner_only(tmp_path: Path) -> None:
    environ = {"GUARDLIB_HUNT_ROOM": str(tmp_path / "room")}
    first = flags.room_secret(environ)
    assert flags.room_secret(environ) == first and len(first) == 64
    path = tmp_path / "room" / "room-secret"
    if sys.platform != "win32":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert flags.room_secret({**environ, "GUARDLIB_HUNT_ROOM_SECRET": ROOM.decode()}) == ROOM


def test_bad_room_settings_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(flags.HuntSetupError, match="too short") as error:
        flags.room_secret({"GUARDLIB_HUNT_ROOM_SECRET": "demo-not-a-real"})
    assert "demo-not-a-real" not in str(error.value)
    with pytest.raises(flags.HuntSetupError, match="not hex"):
        flags.resolve_learner_key("ruby", {"GUARDLIB_HUNT_LEARNER_KEY": "zz-not-hex"})


def test_a_provisioned_learner_key_needs_no_room_secret() -> None:
    key = flags.learner_key(ROOM, "ruby")
    environ = {"JUPYTERHUB_USER": "ruby", "GUARDLIB_HUNT_LEARNER_KEY": key.hex()}
    who, got = flags.resolve_learner_key(None, environ)
    assert (who, got) == ("ruby", key)


@pytest.fixture
def game() -> tuple[Ledger, dict[str, str]]:
    return Ledger("hard", CHALLENGES), values_for("ruby")


@pytest.mark.parametrize(
    "wrap",
    [
        lambda v: v,
        lambda v: f"  '{v}'\n",
        lambda v: f'"{v}"',
        lambda v: f"`{v}`",
        lambda v: f"API_KEY={v}",
        lambda v: f"export API_KEY = '{v}'",
        lambda v: f"Bearer {v}",
        lambda v: f"Authorization: token {v}",
        lambda v: v[:20] + "\n" + v[20:],  # wrapped across lines
    ],
)
def test_lenient_normalisation(game, wrap) -> None:
    ledger, values = game
    outcome = judge(wrap(values["notebook-output"]), ledger, values, {})
    assert outcome.status == "accepted", outcome.message


def test_case_is_folded_only_where_the_alphabet_has_one_case(game) -> None:
    ledger, values = game
    assert judge(values["git-history"].lower(), ledger, values, {}).status == "accepted"
    assert judge(values["ipython-history"].upper(), ledger, values, {}).status == "accepted"
    swapped = values["notebook-output"].swapcase()
    assert judge(swapped, ledger, values, {}).status == "false-positive"


def test_a_line_holding_the_value_counts(game) -> None:
    ledger, values = game
    line = f"DATABASE_URL=postgres://codehive:{values['env-bak']}@db.codehive.example:5432/app"
    assert judge(line, ledger, values, {}).status == "accepted"


def test_a_wrong_answer_is_a_penalised_false_positive(game) -> None:
    ledger, values = game
    outcome = judge("ghp_" + "DEMO" + "x" * 32, ledger, values, {})
    assert outcome.status == "false-positive" and outcome.points == -FALSE_POSITIVE_PENALTY
    assert ledger.false_positives == 1 and ledger.score == -FALSE_POSITIVE_PENALTY
    decoy = judge(AWS_EXAMPLE_KEY_ID, ledger, values, {"aws-docs-example": AWS_EXAMPLE_KEY_ID})
    assert decoy.status == "false-positive" and "documentation example" in decoy.message
    assert ledger.score == -2 * FALSE_POSITIVE_PENALTY


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (..., "replace the ..."),
        (None, "as text"),
        (12345, "as text"),
        ("   ", "replace the ..."),
    ],
)
def test_no_answer_costs_nothing(game, answer, reason) -> None:
    ledger, values = game
    outcome = judge(answer, ledger, values, {})
    assert outcome.status == "refused" and reason in outcome.message
    assert ledger.score == 0


def test_part_of_a_value_two_values_or_a_whole_file_cost_nothing(game) -> None:
    ledger, values = game
    assert "part of" in judge(values["force-push"][:14], ledger, values, {}).message
    both = values["force-push"] + " " + values["ci-log"]
    assert "one at a time" in judge(both, ledger, values, {}).message
    dump = "x" * 500 + values["ci-log"]
    assert "not a whole file" in judge(dump, ledger, values, {}).message
    assert ledger.score == 0 and not ledger.found


def test_messages_never_echo_the_answer(game) -> None:
    ledger, values = game
    for answer in (values["force-push"], values["force-push"][:14], "sk_live_" + "Z" * 24):
        assert answer not in judge(answer, ledger, values, {}).message


def test_found_twice_counts_once(game) -> None:
    ledger, values = game
    assert judge(values["ci-log"], ledger, values, {}).points == BY_ID["ci-log"].points
    again = judge(values["ci-log"], ledger, values, {})
    assert again.status == "again" and ledger.score == BY_ID["ci-log"].points


def test_levels_and_values_outside_the_level(game) -> None:
    _, values = game
    assert [c.id for c in in_level("easy")] == [c.id for c in CHALLENGES if c.level == "easy"]
    assert len(in_level("normal")) == 9 and len(in_level("hard")) == len(CHALLENGES) == 12
    easy = Ledger("easy", in_level("easy"))
    outcome = judge(values["force-push"], easy, values, {})
    assert outcome.status == "false-positive" and "not in play" in outcome.message
    with pytest.raises(ValueError):
        in_level("expert")


def test_hints_cost_points(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from guardlib.course.hunt import Hunt

    environ = {"GUARDLIB_HUNT_ROOM_SECRET": ROOM.decode()}
    hunt = Hunt(level="normal", learner="ruby", root=tmp_path / "w", environ=environ)
    try:
        hunt.hint("git-history")
        hunt.hint("git-history")
        hunt.hint("git-history")  # no third hint, no third charge
        hunt.hint("force-push")  # not at this level
        out = capsys.readouterr().out
        assert "Hint 1" in out and "Hint 2" in out and "no more hints" in out
        assert "no challenge 'force-push' at this level" in out
        cost = BY_ID["git-history"].hint_cost
        assert hunt.score == -2 * cost
        outcome = hunt.check(hunt.world.values["git-history"])
        assert outcome.points == BY_ID["git-history"].points - 2 * cost
        assert hunt.score == BY_ID["git-history"].points - 2 * cost
    finally:
        hunt.close()
    assert (tmp_path / "w").exists()  # a folder the caller gave is the caller's


def test_the_hunt_cleans_up_its_own_folder() -> None:
    from guardlib.course.hunt import Hunt

    with Hunt(learner="ruby", environ={"GUARDLIB_HUNT_ROOM_SECRET": ROOM.decode()}) as hunt:
        root, pid = hunt.root, hunt.worker_pid
        assert root.is_dir() and pid
    assert not root.exists()
    assert "SENDGRID_API_KEY" not in os.environ


def test_mask_hides_every_planted_value(tmp_path: Path) -> None:
    from guardlib.course.hunt import Hunt

    environ = {"GUARDLIB_HUNT_ROOM_SECRET": ROOM.decode()}
    hunt = Hunt(learner="ruby", root=tmp_path / "w", environ=environ)
    text = " ".join(hunt.world.values.values()) + " " + " ".join(hunt.world.extra_values)
    masked = hunt.mask(text)
    assert not any(v in masked for v in hunt.world.values.values())
    assert "<AWS Access Key>" in masked and "<hidden>" in masked
    hunt.close()
