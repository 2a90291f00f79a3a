"""Runners; importing registers them in mmengine's root ``RUNNERS`` (where mmdet's ``tools/train.py`` looks)."""
from .cpu_ddp_runner import CPUDDPRunner

__all__ = ['CPUDDPRunner']
