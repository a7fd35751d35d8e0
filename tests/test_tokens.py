"""The one constant-time comparison of secrets (clinic/tokens.py) the servers share."""

from typing import Any

import pytest

from clinic.tokens import same_token


def test_the_same_token_matches() -> None:
    assert same_token("s3cret-token", "s3cret-token")


@pytest.mark.parametrize(
    "given",
    [None, "", "s3cret-tokeN", "s3cret-token ", "s3cret", 12345, b"s3cret-token", "ñ\udcff"],
)
def test_anything_else_does_not_and_nothing_crashes(given: Any) -> None:
    assert not same_token(given, "s3cret-token")


def test_an_empty_expected_token_matches_nothing() -> None:
    """A server whose token is unset must not let an empty one through."""
    assert not same_token("", "")
