"""torchvision ``mobilenet_v2`` checkpoint keys → mmdet ``MobileNetV2`` / :class:`CondConvMobileNetV2` keys."""
from collections import OrderedDict
from typing import Dict, List, Mapping, Tuple

import torch
from torch import Tensor

# blocks per mmdet layer (torchvision's features.1 … features.17)
_BLOCKS_PER_LAYER = (1, 2, 3, 4, 3, 3, 1)
_BN_KEYS = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')


def _module_map() -> List[Tuple[str, str]]:
    """(torchvision prefix, mmdet prefix) pairs for every conv and BN."""
    pairs = [('features.0.0', 'conv1.conv'), ('features.0.1', 'conv1.bn')]
    feature = 1
    for layer, num_blocks in enumerate(_BLOCKS_PER_LAYER, start=1):
        for block in range(num_blocks):
            tv, mm = f'features.{feature}.conv', f'layer{layer}.{block}'
            if feature == 1:  # expand ratio 1: dw (ConvBNReLU), project conv, bn
                pairs += [(f'{tv}.0.0', f'{mm}.depthwise_conv.conv'), (f'{tv}.0.1', f'{mm}.depthwise_conv.bn'),
                          (f'{tv}.1', f'{mm}.linear_conv.conv'), (f'{tv}.2', f'{mm}.linear_conv.bn')]
            else:
                pairs += [(f'{tv}.0.0', f'{mm}.expand_conv.conv'), (f'{tv}.0.1', f'{mm}.expand_conv.bn'),
                          (f'{tv}.1.0', f'{mm}.depthwise_conv.conv'), (f'{tv}.1.1', f'{mm}.depthwise_conv.bn'),
                          (f'{tv}.2', f'{mm}.linear_conv.conv'), (f'{tv}.3', f'{mm}.linear_conv.bn')]
            feature += 1
    pairs += [('features.18.0', 'conv2.conv'), ('features.18.1', 'conv2.bn'), ('classifier.1', 'classifier.fc')]
    return pairs


def convert_torchvision_mobilenet_v2(state_dict: Mapping[str, Tensor],
                                     with_classifier: bool = True,
                                     prefix: str = '') -> 'OrderedDict[str, Tensor]':
    """Rename every key; BN ``num_batches_tracked`` absent from old checkpoints is added as 0.

    Args:
        with_classifier: keep ``classifier.fc.*`` (the 1000-way FC); drop it for detection backbones.
        prefix: prepended to every key, e.g. ``'backbone.'`` for a detector's ``load_from``.

    Raises:
        KeyError: when a torchvision key is not consumed (the mapping must be total).
    """
    out: Dict[str, Tensor] = OrderedDict()
    used = set()
    for tv, mm in _module_map():
        if mm.startswith('classifier') and not with_classifier:
            used.update(k for k in state_dict if k.startswith(tv + '.'))
            continue
        is_bn = f'{tv}.running_mean' in state_dict
        for name in (_BN_KEYS if is_bn else ('weight', 'bias')):
            key = f'{tv}.{name}'
            if key in state_dict:
                out[prefix + f'{mm}.{name}'] = state_dict[key]
                used.add(key)
            elif name == 'num_batches_tracked':
                out[prefix + f'{mm}.{name}'] = torch.tensor(0, dtype=torch.long)
    leftover = [k for k in state_dict if k not in used]
    if leftover:
        raise KeyError(f'unconverted torchvision keys: {leftover[:10]}')
    return out
