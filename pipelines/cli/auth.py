"""Ray token authentication on the client side (clusters started with RAY_AUTH_MODE=token).

Entry-point code: it sets RAY_AUTH_MODE in this process, which only the program's entry point
may do. Kept free of Ray imports: Ray reads RAY_AUTH_MODE once, when it is first imported, so
this must run before anything imports Ray (the CLI calls it first). A library caller of
`ganforge.platform.cluster.jobs` sets RAY_AUTH_MODE=token itself, before importing Ray.
"""

from __future__ import annotations

import os
from pathlib import Path


def prefer_token_auth() -> None:
    """Send the cluster token when one is available.

    Ray's client attaches its token (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token)
    only in token mode, and reads the mode once, when Ray is first imported. A cluster without
    authentication ignores the header, so token mode is the safe default when a token exists.
    """
    has_token = (
        "RAY_AUTH_TOKEN" in os.environ
        or "RAY_AUTH_TOKEN_PATH" in os.environ
        or (Path.home() / ".ray" / "auth_token").exists()
    )
    if has_token:
        os.environ.setdefault("RAY_AUTH_MODE", "token")
