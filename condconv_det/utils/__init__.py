"""Small helpers shared by the tools."""
from .config_utils import fixed_input_size, without_pretrained
from .cpu_allocator import tune_glibc_malloc
from .mmdet_tools import mmdet_tool_path, run_mmdet_tool

__all__ = ['fixed_input_size', 'mmdet_tool_path', 'run_mmdet_tool', 'tune_glibc_malloc', 'without_pretrained']
