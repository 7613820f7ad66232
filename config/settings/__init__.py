"""Settings, one module per topic. Each reads its own part of the environment strictly:
a bad value stops start-up with a message naming the variable (see ``env.py``)."""

from .base import *  # noqa: F403
from .broker import *  # noqa: F403
from .db import *  # noqa: F403
from .email import *  # noqa: F403
from .security import *  # noqa: F403
from .storage import *  # noqa: F403
from .triggerfish import *  # noqa: F403
