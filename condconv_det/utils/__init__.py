"""Small helpers shared by the tools."""
from .config_utils import without_pretrained
from .mmdet_tools import mmdet_tool_path, run_mmdet_tool

__all__ = ['mmdet_tool_path', 'run_mmdet_tool', 'without_pretrained']
