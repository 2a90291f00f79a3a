"""Model components; importing this module registers them in mmdet's ``MODELS``."""
from . import backbones, dense_heads, layers, necks, utils  # noqa: F401
