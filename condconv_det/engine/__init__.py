"""Training-time components (hooks, optimizer wrappers and constructors, runners); importing registers them."""
from . import hooks, optimizers, runner  # noqa: F401
