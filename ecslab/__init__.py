"""ecslab: the helper library behind the Amazon ECS course notebooks.

Notebooks use one object, ``Lab``; the modules beside it are the steps it takes
(``network``, ``iam``, ``cluster``, ``task``, ``logs``, ``inventory``,
``teardown``) and the embedded ``emulator``.
"""

from .lab import Lab, RoleNotUsableError
from .session import Session
from .spec import LabSpec, validate_prefix
from .teardown import TeardownIncomplete

__version__ = "0.1.0"
__all__ = ["Lab", "LabSpec", "RoleNotUsableError", "Session", "TeardownIncomplete",
           "validate_prefix"]
