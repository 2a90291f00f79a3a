"""Small helpers shared by the tools."""
from .mmdet_tools import mmdet_tool_path, run_mmdet_tool

__all__ = ['mmdet_tool_path', 'run_mmdet_tool']
