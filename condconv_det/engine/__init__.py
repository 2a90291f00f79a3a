"""Training-time components (hooks); importing registers them in mmdet's ``HOOKS``."""
from . import hooks  # noqa: F401
