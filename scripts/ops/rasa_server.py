"""Run `rasa run` with the HTTP API token from the environment and in a header, never in a URL.

    python -m scripts.ops.rasa_server <rasa run arguments, without --auth-token>

`rasa run --auth-token TOKEN` puts the token in the command line, which any user of the
machine reads with `ps`, and Rasa takes it only from `?token=`, which lands in the logs of
every proxy on the way. Here the token comes from RASA_API_TOKEN and is added to Rasa's
arguments inside this process; requests send it as `Authorization: Bearer <token>` (or
`Authorization: Token <token>`), and a token in the query string is refused.
"""

import os
import sys
from functools import wraps
from http import HTTPStatus
from inspect import isawaitable
from typing import Any, Callable, List, Mapping, Optional

from clinic.tokens import same_token

TOKEN_IN_URL = (
    "The API token must not be sent in the URL (URLs end up in logs): send it in "
    "an 'Authorization: Bearer <token>' header, and replace a token that was sent "
    "in a URL."
)
HEADER_SCHEMES = ("bearer", "token")


def header_token(authorization: Optional[str]) -> Optional[str]:
    """The token of an `Authorization: Bearer <token>` or `Token <token>` header, else None."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() in HEADER_SCHEMES and token else None


def rasa_run_argv(arguments: List[str], env: Mapping[str, str]) -> List[str]:
    """`rasa run` with `arguments`, plus the token from RASA_API_TOKEN when the API is on."""
    if "--enable-api" not in arguments:
        return ["rasa", "run", *arguments]
    token = env.get("RASA_API_TOKEN", "")
    if not token:
        raise SystemExit(
            "--enable-api without RASA_API_TOKEN: the HTTP API is never opened without a token."
        )
    return ["rasa", "run", *arguments, "--auth-token", token]


def header_requires_auth(rasa_requires_auth: Callable) -> Callable:
    """Rasa's `requires_auth`, also accepting the token in the Authorization header and
    refusing it in the query string (JWT and the rest stay Rasa's)."""
    from rasa.server import ErrorResponse

    def requires_auth(app: Any, token: Optional[str] = None) -> Callable:
        rasa_check = rasa_requires_auth(app, token)

        def decorator(handler: Callable) -> Callable:
            checked = rasa_check(handler)

            @wraps(handler)
            async def decorated(request: Any, *args: Any, **kwargs: Any) -> Any:
                if "token" in request.args:
                    raise ErrorResponse(HTTPStatus.UNAUTHORIZED, "NotAuthenticated", TOKEN_IN_URL)
                if token and same_token(header_token(request.headers.get("Authorization")), token):
                    result = handler(request, *args, **kwargs)
                    return await result if isawaitable(result) else result
                return await checked(request, *args, **kwargs)

            return decorated

        return decorator

    return requires_auth


def main() -> None:
    import rasa.__main__
    import rasa.server

    # create_app looks requires_auth up when it builds the routes, after this.
    rasa.server.requires_auth = header_requires_auth(rasa.server.requires_auth)
    # Rasa parses sys.argv; changing it here does not change what `ps` shows.
    sys.argv = rasa_run_argv(sys.argv[1:], os.environ)
    rasa.__main__.main()


if __name__ == "__main__":
    main()
