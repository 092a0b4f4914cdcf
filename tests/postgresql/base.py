"""PostgreSQL for the test run: Django's backend, emptying tables with DELETE.

Between transactional tests Django empties every table (``flush``). On PostgreSQL that is
one ``TRUNCATE`` of all of them, which costs about 200 ms however few rows they hold: a new
file for each table. ``DELETE`` of the handful of rows a test leaves takes a few
milliseconds. ``flush`` runs its statements in one transaction and Django makes every
foreign key ``DEFERRABLE INITIALLY DEFERRED``, so the order of the deletes does not matter.
Sequences are left alone, as ``flush`` leaves them unless a test asks for
``reset_sequences`` (then this falls back to ``TRUNCATE ... RESTART IDENTITY``).
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base


class DatabaseOperations(base.DatabaseOperations):
    def sql_flush(self, style: Any, tables: Any, *, reset_sequences: bool = False,
                  allow_cascade: bool = False) -> list[str]:
        if reset_sequences or allow_cascade:
            return list(super().sql_flush(style, tables, reset_sequences=reset_sequences,
                                          allow_cascade=allow_cascade))
        return [f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};"
                for table in tables]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
