"""Properties of the fingerprint (repairs/evidence.py): what varies between repeats of one
error does not change it; what tells errors apart does."""

import re
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from repairs.evidence import fingerprint, normalise_message

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, derandomize=True, database=None)

# Words of a message: ASCII, so that changing their case is reversible (str.lower of
# "ß".upper() is "ss", not "ß").
WORD = st.from_regex(r"[A-Za-z]{1,12}", fullmatch=True)
# What stands between a word and an id in real messages, "_" included ("tmp_3f2a9c1e").
SEPARATOR = st.sampled_from([" ", "/", ":", "=", "-", "_", ".", ",", "(", ")", "#", "'", '"'])
ERROR_CLASS = st.from_regex(r"[a-z][a-z0-9_]{0,40}", fullmatch=True)


def _hex_id(draw) -> str:
    text = draw(st.text(alphabet="0123456789abcdef", min_size=7, max_size=40))
    # A hex id has at least one digit and one letter (else it is a number or a word).
    return draw(st.sampled_from("0123456789")) + text + draw(st.sampled_from("abcdef"))


# Each kind of varying value, drawn afresh for each repeat of the message.
KINDS = {
    "number": lambda draw: str(draw(st.integers(min_value=0, max_value=10**12))),
    "uuid": lambda draw: str(uuid.UUID(int=draw(st.integers(0, 2**128 - 1)))),
    "hex_literal": lambda draw: "0x" + draw(st.text(alphabet="0123456789abcdef", min_size=1)),
    "hex_id": _hex_id,
}


@st.composite
def messages_with_varying_ids(draw) -> tuple[str, str]:
    """The same message shape twice, each slot filled with another value of its kind."""
    parts = draw(st.lists(st.one_of(WORD, st.sampled_from(sorted(KINDS))), min_size=1))
    first, second = [], []
    for part in parts:
        separator = draw(SEPARATOR)
        if part in KINDS:
            make = KINDS[part]
            first_value, second_value = make(draw), make(draw)
            if draw(st.booleans()):
                first_value = first_value.upper()
            first += [separator, first_value]
            second += [separator, second_value]
        else:
            first += [separator, part]
            second += [separator, part]
    return "".join(first) + " ", "".join(second) + " "


@PROPERTY_SETTINGS
@given(messages_with_varying_ids(), ERROR_CLASS)
def test_ids_and_numbers_never_change_the_fingerprint(messages, error_class):
    first, second = messages

    assert normalise_message(first) == normalise_message(second)
    assert fingerprint(error_class, first) == fingerprint(error_class, second)


@st.composite
def respaced_and_recased(draw) -> tuple[str, str]:
    words = draw(st.lists(st.from_regex(r"[A-Za-z0-9./:()-]{1,12}", fullmatch=True), min_size=1))
    spaces = st.text(alphabet=" \t\n\r", min_size=1, max_size=4)
    plain = " ".join(words)
    noisy = draw(st.text(alphabet=" \t\n", max_size=3))
    for word in words:
        noisy += "".join(c.upper() if draw(st.booleans()) else c.lower() for c in word)
        noisy += draw(spaces)
    return plain, noisy


@PROPERTY_SETTINGS
@given(respaced_and_recased(), ERROR_CLASS)
def test_case_and_whitespace_never_change_the_fingerprint(messages, error_class):
    plain, noisy = messages

    assert fingerprint(error_class, plain) == fingerprint(error_class, noisy)
    assert fingerprint(error_class.upper() + " ", plain) == fingerprint(error_class, plain)


@PROPERTY_SETTINGS
@given(ERROR_CLASS, ERROR_CLASS, st.text(max_size=200))
def test_different_error_classes_never_share_a_fingerprint(first, second, message):
    if first == second:
        return

    assert fingerprint(first, message) != fingerprint(second, message)


@PROPERTY_SETTINGS
@given(st.text(max_size=500))
def test_normalising_is_idempotent_and_leaves_no_digits(message):
    normalised = normalise_message(message)

    assert normalise_message(normalised) == normalised
    assert re.search(r"\d", normalised) is None
    assert normalised == normalised.strip()


def test_the_normal_form_of_a_frozen_example_is_stable():
    # Stored fingerprints group events across deploys; a change here splits the groups.
    message = (
        "GET /jobs/JOB-1234/context failed: 503 after 3 tries "
        "(request 3f2a9c1e, trace 123e4567-e89b-12d3-a456-426614174000, addr 0x7FFE12)"
    )

    assert normalise_message(message) == (
        "get /jobs/job-<n>/context failed: <n> after <n> tries "
        "(request <hex>, trace <uuid>, addr <hex>)"
    )
    assert fingerprint("context_fetch_failed", message) == (
        "c479028820cdad6cdea56cf04d2a3fcfd9b26b504a3b54e9294ef644d1801de8"
    )


def test_an_id_after_an_underscore_is_still_an_id():
    # Found by the first property: "_" is a word character to \b, so these kept their ids
    # and every run of one error got a fingerprint of its own.
    assert normalise_message("rm tmp_3f2a9c1e failed") == "rm tmp_<hex> failed"
    assert normalise_message("session_123e4567-e89b-12d3-a456-426614174000 lost") == (
        "session_<uuid> lost"
    )
    assert normalise_message("addr_0x7ffe12") == "addr_<hex>"
