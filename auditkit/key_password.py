"""The signing key's password, read from the environment variable a signing block or ``--password-env`` names.

It is never printed, logged or written. This module depends only on ``auditkit.errors``,
so manifest validation checks the variable exactly as signing reads it without
importing the signing code.
"""

from __future__ import annotations

import os
from pathlib import Path

from auditkit.errors import InputError, Problem

#: Default environment variable holding the key password (same default as the manifest's signing block).
DEFAULT_PASSWORD_ENV = "AUDITKIT_KEY_PASSWORD"


def password_from_env(variable: str, *, file: Path | str = "command line", field: str = "--password-env") -> bytes:
    """The password held by environment variable ``variable``; unset or empty is an input error.

    ``file`` and ``field`` say where the variable was named (a manifest's
    ``signing.password_env``, or the ``--password-env`` option).
    """
    value = os.environ.get(variable, "")
    if not value:
        raise InputError(Problem(file, field, f"environment variable {variable} is not set or empty (it must hold the key password)"))
    return value.encode("utf-8")
