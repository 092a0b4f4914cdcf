from django.contrib.auth.hashers import PBKDF2PasswordHasher

from ainative_auth.hashers import Argon2idPasswordHasher


class FastArgon2idPasswordHasher(Argon2idPasswordHasher):
    """Cheap argon2id for the suite only (the real parameters are tested separately)."""

    time_cost = 1
    memory_cost = 256
    parallelism = 1


def old_pbkdf2_hash(password: str) -> str:
    """A PBKDF2-SHA256 hash as older Django versions stored them (10,000 iterations, as in
    Django 1.x): a login checks it like any PBKDF2 hash, without the million rounds of
    today's default in every test that needs one."""
    hasher = PBKDF2PasswordHasher()
    return hasher.encode(password, hasher.salt(), iterations=10_000)
