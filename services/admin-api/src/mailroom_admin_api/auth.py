"""Bearer-token authentication of every /v1 route."""

from __future__ import annotations

import hmac

from pydantic import SecretStr

from mailroom_admin_api.problems import ProblemError

__all__ = ["check_bearer", "token_matches"]

REALM = "mailroom-admin"


def token_matches(presented: str, expected: SecretStr) -> bool:
    """Constant-time comparison, so response timing does not reveal the token."""
    return hmac.compare_digest(
        presented.encode("utf-8"), expected.get_secret_value().encode("utf-8")
    )


def check_bearer(authorization: str | None, expected: SecretStr) -> None:
    """Raise a 401 problem unless ``authorization`` is ``Bearer <the token>``."""
    if not authorization:
        raise ProblemError(
            401,
            "Authentication required",
            "Send the admin token as 'Authorization: Bearer <token>'.",
            kind="unauthorized",
            headers={"WWW-Authenticate": f'Bearer realm="{REALM}"'},
        )
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token_matches(credentials.strip(), expected):
        raise ProblemError(
            401,
            "Invalid token",
            "The bearer token is not the admin token.",
            kind="unauthorized",
            headers={"WWW-Authenticate": f'Bearer realm="{REALM}", error="invalid_token"'},
        )
