"""The signing keys, parsed once per process.

The library reads its RSA key from the PEM text of ``IDP_OIDC_PRIVATE_KEYS`` every time it
signs or checks a token (``jwkkit.load_jwk_from_pem``): every access token, every ID
token, every JWKS. Parsing a private key runs ``cryptography``'s RSA consistency checks,
30 to 40 ms of CPU each time, so the token endpoint cost that much per call, and a client
could make the server spend it at will. Here the parse is kept per PEM text (a rotated key
is new text, parsed once when first used); each caller still gets its own copy of the JWK
dictionary, so none can change what the next one reads.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

# Active, retiring and next keys, with room to spare; the PEM texts are the keys.
_KEYS_KEPT = 16


def install() -> None:
    """Put the keeping loader in place of the library's (from ``AppConfig.ready``)."""
    from allauth.core.internal import jwkkit

    library_loader = jwkkit.load_jwk_from_pem
    if getattr(library_loader, "keeps_parsed_keys", False):
        return

    parse = functools.lru_cache(maxsize=_KEYS_KEPT)(library_loader)

    def load_jwk_from_pem(pem: str) -> tuple[dict[str, Any], Any]:
        jwk, private_key = parse(pem)
        return copy.deepcopy(jwk), private_key  # its own copy (``key_ops`` is a list)

    load_jwk_from_pem.keeps_parsed_keys = True  # type: ignore[attr-defined]
    jwkkit.load_jwk_from_pem = load_jwk_from_pem
