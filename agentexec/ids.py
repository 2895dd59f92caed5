"""Public ids: a readable prefix and 128 random bits, so they are unguessable."""

import secrets

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def new_id(prefix: str) -> str:
    n = secrets.randbits(128)
    chars = []
    for _ in range(25):  # 36**25 > 2**128
        n, r = divmod(n, 36)
        chars.append(_ALPHABET[r])
    return f"{prefix}_{''.join(reversed(chars))}"


# Named functions, because model field defaults must be importable for migrations.
def org_id() -> str:
    return new_id("org")


def key_id() -> str:
    return new_id("key")


def agent_id() -> str:
    return new_id("agent")


def run_id() -> str:
    return new_id("run")


def sandbox_id() -> str:
    return new_id("sandbox")


def step_id() -> str:
    return new_id("step")


def usage_id() -> str:
    return new_id("usage")


def vault_id() -> str:
    return new_id("vault")


def object_id() -> str:
    return new_id("obj")


def vault_group_id() -> str:
    return new_id("vgroup")


def multipart_upload_id() -> str:
    return new_id("upload")
