"""Tracking ids: the check character catches every single mistyped character and every swap of
two adjacent characters, proved over arbitrary ids by hypothesis."""

import random

from hypothesis import given
from hypothesis import strategies as st

from services.domain.tracking import (
    ALPHABET,
    BODY_LENGTH,
    PREFIX,
    TrackingIds,
    check_character,
    is_valid,
    parse,
    with_check,
)

bodies = st.text(alphabet=ALPHABET, min_size=BODY_LENGTH, max_size=BODY_LENGTH)


@given(body=bodies)
def test_an_id_with_its_check_character_is_valid(body: str) -> None:
    assert is_valid(body + check_character(body))
    assert parse(with_check(body)).valid


@given(
    body=bodies,
    position=st.integers(0, BODY_LENGTH),
    replacement=st.sampled_from(ALPHABET),
)
def test_any_single_mistyped_character_is_caught(
    body: str, position: int, replacement: str
) -> None:
    full = body + check_character(body)
    typed = full[:position] + replacement + full[position + 1 :]
    assert is_valid(typed) == (typed == full)


@given(body=bodies, position=st.integers(0, BODY_LENGTH - 1))
def test_any_two_adjacent_characters_swapped_are_caught(body: str, position: int) -> None:
    full = body + check_character(body)  # the check character itself may be swapped too
    swapped = full[:position] + full[position + 1] + full[position] + full[position + 2 :]
    assert is_valid(swapped) == (swapped == full)


def test_the_alphabet_has_no_look_alikes() -> None:
    assert len(ALPHABET) == 32
    assert not set("ILOU") & set(ALPHABET)


def test_new_ids_are_prefixed_nine_characters_and_valid() -> None:
    ids = TrackingIds()
    for _ in range(200):
        tracking_id = ids.new()
        assert tracking_id.startswith(PREFIX)
        assert len(tracking_id) == len(PREFIX) + BODY_LENGTH + 1
        assert parse(tracking_id).valid


def test_a_seeded_generator_repeats_its_ids() -> None:
    assert TrackingIds(random.Random(3)).new() == TrackingIds(random.Random(3)).new()


def test_what_a_person_types_is_normalised() -> None:
    tracking_id = with_check("7K3QX9P2")
    typed = "  adn-7k3q x9p2" + tracking_id[-1].lower()
    assert parse(typed).tracking_id == tracking_id
    # Crockford decoding: I and L read as 1, O as 0.
    assert parse(tracking_id.replace("1", "I")).tracking_id == tracking_id
    assert parse("ADN-" + with_check("10000000")[4:].replace("1", "L").replace("0", "O")).valid


def test_ids_from_before_the_check_character_still_parse() -> None:
    assert parse("ADN-7K3QX9P2").valid
    assert parse("adn-7k3qx9p2").tracking_id == "ADN-7K3QX9P2"


def test_a_wrong_check_character_says_so() -> None:
    tracking_id = with_check("7K3QX9P2")
    wrong = next(c for c in ALPHABET if c != tracking_id[-1])
    parsed = parse(tracking_id[:-1] + wrong)
    assert not parsed.valid
    assert parsed.reason is not None and "check character" in parsed.reason


def test_other_shapes_are_not_ids() -> None:
    assert not parse("ADN-123").valid
    assert not parse("ADN-7K3QX9P2GG").valid
    assert not parse("ADN-7K3QX9P*G").valid
