"""The one exception for a user's mistake in the inputs of ``microaction-agree``."""
from __future__ import annotations

from common.errors import UserError


class AgreementError(UserError, ValueError):
    """An input that cannot be used: one line naming the file (and line, tier or annotation) and the problem."""
