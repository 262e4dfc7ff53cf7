"""What a long-running process made at start-up, kept out of the garbage collector's way.

Every full collection walks every object the process holds: the dictionaries, the modules, the
settings. Frozen once the bot has started, they are left alone; what polls make is collected as ever.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Collect what is garbage already, then move every object alive now to the permanent
    generation (they live as long as the process; freed by reference counting all the same)."""
    gc.collect()
    gc.freeze()


def thaw_startup_objects() -> None:
    """Give them back to the collector (a process that starts and stops bots, as tests do, would
    otherwise freeze each one's leftovers for good)."""
    gc.unfreeze()
