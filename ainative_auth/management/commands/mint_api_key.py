"""``mint_api_key``: the former name of ``ainative_mint_api_key``, kept for one release.

Management command names are global across a project's apps; the app's commands carry the
``ainative_`` prefix so they cannot clash with another app's.
"""

from __future__ import annotations

from typing import Any

from .ainative_mint_api_key import Command as MintCommand


class Command(MintCommand):
    help = MintCommand.help + " (Deprecated name: use ainative_mint_api_key.)"

    def handle(self, *args: Any, **options: Any) -> Any:
        self.stderr.write("mint_api_key is deprecated: use ainative_mint_api_key.")
        return super().handle(*args, **options)
