from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from ...services.sessions import prune_sessions


class Command(BaseCommand):
    help = "Delete expired sessions and sessions revoked more than a day ago (optional: "
    "logins already prune their own user's dead sessions)."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = prune_sessions()
        self.stdout.write(f"Deleted {deleted} dead session(s).")
