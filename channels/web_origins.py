"""The website origins allowed to talk to the Rasa server (no Rasa imports: the launcher uses it)."""

from typing import Any, List


def parse_allowed_origins(value: Any) -> List[str]:
    """The origins from a list or a comma-separated string such as WEB_ORIGIN.

    A browser sends its page's origin as scheme://host[:port] with no path or trailing
    slash, and the servers compare it exactly, so that is the only form accepted.
    """
    items = value if isinstance(value, list) else str(value or "").split(",")
    origins = [str(item).strip() for item in items if str(item).strip()]
    if not origins:
        raise ValueError(
            "no allowed origin: set WEB_ORIGIN to the origin of the page that embeds "
            "the chat widget, e.g. https://www.example-clinic.com"
        )
    for origin in origins:
        scheme, _, rest = origin.partition("://")
        if scheme not in ("http", "https") or not rest or "/" in rest or "*" in rest:
            raise ValueError(
                f"allowed origin {origin!r} must be scheme://host[:port] with no path, "
                "e.g. https://www.example-clinic.com ('*' is not accepted)"
            )
    return origins
