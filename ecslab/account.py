"""Guards for a real AWS account: an allow list, and masking account ids.

On the ``aws`` target nothing is created until the account is on the learner's
allow list (``ECSLAB_ALLOWED_ACCOUNTS``, comma-separated, or ``Lab(...,
allowed_accounts=[...])``) and the cost estimate has been shown.
"""

from __future__ import annotations

import os
import re

# Twelve digits standing alone: not part of a longer number or of an id such as
# igw-c3e745610600886a6.
_ACCOUNT = re.compile(r"(?<![0-9A-Za-z])(\d{8})(\d{4})(?![0-9A-Za-z])")


class GuardError(PermissionError):
    """A real-account guard refused the step; the message says what to do."""


def allowed_accounts(explicit: list[str] | None = None) -> set[str]:
    if explicit is not None:
        return {str(a).strip() for a in explicit if str(a).strip()}
    raw = os.environ.get("ECSLAB_ALLOWED_ACCOUNTS", "")
    return {a.strip() for a in raw.split(",") if a.strip()}


def mask(text: str) -> str:
    """Replace every 12-digit account id in ``text`` by ``********NNNN``.

    Account ids are not secret, but handouts and shared notebooks hide them.
    """
    return _ACCOUNT.sub(lambda m: "********" + m.group(2), text)


class Masked:
    """A log argument whose text is masked when, and only if, it is formatted.

    ``log.info("... %s", Masked(error))`` keeps logging's lazy arguments while no
    log line the library writes shows a full account id (an ARN, an ECR host).
    """

    __slots__ = ("value",)

    def __init__(self, value: object):
        self.value = value

    def __str__(self) -> str:
        return mask(str(self.value))

    __repr__ = __str__


def check_allowed(account: str, allowed: set[str],
                  outcome: str = "nothing was created") -> None:
    """``GuardError`` unless ``account`` is allowed; ``outcome`` says what did
    not happen (the message a learner reads)."""
    if account not in allowed:
        raise GuardError(
            f"account {mask(account)} is not on the allow list: {outcome}. "
            "Add it to ECSLAB_ALLOWED_ACCOUNTS (comma-separated) or pass "
            "Lab(..., allowed_accounts=[...]) once you are sure this is the "
            "account to use.")
