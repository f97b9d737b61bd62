"""The only module that reads or writes moto's in-process models.

Everything else in the emulator goes through these functions, so a moto upgrade
touches this file alone, and tests/test_moto_adapter.py says at once what changed.
moto is pinned to an exact version in requirements.lock.
"""

from __future__ import annotations

# --- Data plane: tasks, services, network interfaces, targets, logs ----------


# --- Guards: reads of current state for the dependency checks -----------------
