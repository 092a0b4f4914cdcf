from ainative_auth.hashers import Argon2idPasswordHasher


class FastArgon2idPasswordHasher(Argon2idPasswordHasher):
    """Cheap argon2id for the suite only (the real parameters are tested separately)."""

    time_cost = 1
    memory_cost = 256
    parallelism = 1
