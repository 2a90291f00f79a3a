"""Conv → norm → activation whose conv may be a CondConv, with the key names of mmcv's ``ConvModule``."""
from typing import Dict, Optional, Union

import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from .block_routing import cond_conv_cfg

# activations built in place, as mmcv's ConvModule does
_INPLACE_ACTS = ('ReLU', 'ReLU6', 'LeakyReLU', 'ELU')


class CondConvModule(BaseModule):
    """``conv`` → ``bn`` → ``activate``, where ``conv`` is a :class:`CondConv2d` when ``num_experts > 0``.

    The submodule names are those of mmcv's ``ConvModule`` (``conv``, the norm's abbreviation e.g. ``bn``,
    ``activate``), so a static network built from this module has exactly the state-dict keys of its mmdet
    counterpart and a static checkpoint upcycles key for key.

    The mixed kernel of Eq. (1) of the paper, ``(α_1·W_1 + … + α_n·W_n) * x``, takes its routing weights ``α``
    either from the caller (``forward(x, routing_weights)``: the block-shared routing of the official code) or, when
    ``routing_cfg`` is given, from a routing function inside the conv computed from this module's own input.

    Args:
        num_experts (int): 0 builds a static conv (``conv_cfg``, default ``nn.Conv2d``); ``E > 0`` a CondConv with
            ``E`` experts (``conv_cfg`` is then ignored). Both through mmcv's ``build_conv_layer``.
        routing_cfg (dict, optional): routing of a stand-alone CondConv; ``None`` (default) means the routing
            weights are passed in by the enclosing block.
        bias (bool | str): ``'auto'`` = bias only without a norm layer, as in mmcv.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: int,
                 stride: int = 1,
                 padding: int = 0,
                 dilation: int = 1,
                 groups: int = 1,
                 bias: Union[bool, str] = 'auto',
                 num_experts: int = 0,
                 routing_cfg: Optional[Dict] = None,
                 conv_cfg: Optional[Dict] = None,
                 norm_cfg: Optional[Dict] = None,
                 act_cfg: Optional[Dict] = dict(type='ReLU'),
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg)
        self.with_norm = norm_cfg is not None
        self.with_activation = act_cfg is not None
        self.num_experts = num_experts
        if bias == 'auto':
            bias = not self.with_norm
        self.conv = build_conv_layer(
            cond_conv_cfg(num_experts, routing_cfg) if num_experts > 0 else conv_cfg,
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=bias)
        if self.with_norm:
            self.norm_name, norm = build_norm_layer(norm_cfg, out_channels)
            self.add_module(self.norm_name, norm)
        else:
            self.norm_name = None
        if self.with_activation:
            act_cfg_ = act_cfg.copy()
            if act_cfg_['type'] in _INPLACE_ACTS:
                act_cfg_.setdefault('inplace', True)
            self.activate = build_activation_layer(act_cfg_)
        if num_experts == 0:
            nn.init.kaiming_normal_(self.conv.weight, mode='fan_out', nonlinearity='relu')
            if self.conv.bias is not None:
                nn.init.zeros_(self.conv.bias)

    @property
    def is_cond(self) -> bool:
        """Whether ``conv`` is a CondConv."""
        return self.num_experts > 0

    @property
    def norm(self) -> Optional[nn.Module]:
        """The norm layer, or ``None``."""
        return getattr(self, self.norm_name) if self.norm_name else None

    def forward(self, x: Tensor, routing_weights: Optional[Tensor] = None) -> Tensor:
        """Apply conv (with ``routing_weights`` (B, E) if it is a CondConv), norm and activation."""
        x = self.conv(x, routing_weights) if self.is_cond else self.conv(x)
        if self.with_norm:
            x = self.norm(x)
        if self.with_activation:
            x = self.activate(x)
        return x
