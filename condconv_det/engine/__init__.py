"""Training-time components (hooks, optimizer constructors); importing registers them."""
from . import hooks, optimizers  # noqa: F401
