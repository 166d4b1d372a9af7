import pytest
from pydantic import SecretStr

from mailroom_admin_api.auth import check_bearer, token_matches
from mailroom_admin_api.problems import ProblemError

TOKEN = SecretStr("s3cret-token-of-32-characters-xx")


def test_token_matches_only_the_exact_token() -> None:
    assert token_matches("s3cret-token-of-32-characters-xx", TOKEN)
    assert not token_matches("s3cret-token-of-32-characters-x", TOKEN)
    assert not token_matches("", TOKEN)
    assert not token_matches("ñ" * 5, TOKEN)


def test_right_bearer_passes() -> None:
    check_bearer("Bearer s3cret-token-of-32-characters-xx", TOKEN)
    check_bearer("bearer s3cret-token-of-32-characters-xx", TOKEN)


@pytest.mark.parametrize(
    ("header", "title"),
    [
        (None, "Authentication required"),
        ("", "Authentication required"),
        ("Bearer wrong", "Invalid token"),
        ("Basic czNjcmV0", "Invalid token"),
        ("s3cret-token-of-32-characters-xx", "Invalid token"),
    ],
)
def test_missing_or_wrong_token_is_a_401_problem(header: str | None, title: str) -> None:
    with pytest.raises(ProblemError) as err:
        check_bearer(header, TOKEN)
    assert err.value.status == 401
    assert err.value.title == title
    assert err.value.headers["WWW-Authenticate"].startswith("Bearer ")
