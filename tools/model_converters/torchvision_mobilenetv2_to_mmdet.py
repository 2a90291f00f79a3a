"""Convert torchvision's ImageNet MobileNetV2 checkpoint to mmdet ``MobileNetV2`` / ``CondConvMobileNetV2`` keys.

    python tools/model_converters/torchvision_mobilenetv2_to_mmdet.py SRC.pth DST.pth \
        [--no-classifier] [--prefix backbone.]

The output is ``{'state_dict': ..., 'meta': ...}``; with ``--prefix backbone.`` (default) it works both as a detector's
``load_from`` and as ``backbone.init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``.
"""
import argparse
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
from condconv_det.models.utils.torchvision_mobilenet_v2 import convert_torchvision_mobilenet_v2  # noqa: E402


def convert(src: str, dst: str, with_classifier: bool = True, prefix: str = 'backbone.') -> dict:
    """Load ``src`` (raw torchvision state dict or ``{'state_dict': ...}``), convert and save to ``dst``."""
    ckpt = torch.load(src, map_location='cpu', weights_only=True)
    state_dict = ckpt.get('state_dict', ckpt)
    converted = convert_torchvision_mobilenet_v2(state_dict, with_classifier=with_classifier, prefix=prefix)
    meta = dict(source=osp.basename(src), converter='torchvision_mobilenetv2_to_mmdet', key_prefix=prefix,
                backbone='MobileNetV2/CondConvMobileNetV2(num_experts=0)', with_classifier=with_classifier)
    torch.save(dict(state_dict=converted, meta=meta), dst)
    return converted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='torchvision mobilenet_v2 checkpoint (e.g. mobilenet_v2-b0353104.pth)')
    parser.add_argument('dst', help='output checkpoint')
    parser.add_argument('--no-classifier', action='store_true', help='drop the 1000-way FC (detection backbones)')
    parser.add_argument('--prefix', default='backbone.', help="key prefix ('' for bare backbone keys)")
    args = parser.parse_args()
    out = convert(args.src, args.dst, not args.no_classifier, args.prefix)
    print(f'saved {len(out)} tensors to {args.dst} (key prefix {args.prefix!r})')


if __name__ == '__main__':
    main()
