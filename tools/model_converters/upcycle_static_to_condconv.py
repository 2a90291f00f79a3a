"""Upcycle a static checkpoint into a CondConv backbone, preserving the network's function at initialisation.

    python tools/model_converters/upcycle_static_to_condconv.py SRC.pth DST.pth --backbone CondConvMobileNetV2 \
        [--num-experts 8] [--kwargs '{"num_classes": 1000}'] [--noise-std 0.0] [--prefix backbone.] [--seed 0]
    python tools/model_converters/upcycle_static_to_condconv.py SRC.pth DST.pth --config CONFIG  # model.backbone
    python tools/model_converters/upcycle_static_to_condconv.py DET.pth DST.pth --config CONFIG --whole-detector \
        [--cfg-options model.backbone.num_experts=1 model.bbox_head.num_experts=1]
        # a trained static detector -> CONFIG's CondConv detector (backbone and head), for load_from

Every expert starts from the static kernel, routing weights are zero and the sigmoid routing bias is ``-log(E-1)``
(``E·σ(b) = 1``), see :mod:`condconv_det.models.utils.upcycle`. ``--prefix`` is stripped from SRC keys and added to
DST keys (``backbone.``: usable as ``load_from`` and as ``init_cfg=dict(type='Pretrained', prefix='backbone.')``).
"""
import argparse
import json
import os.path as osp
import sys
from typing import Dict, List, Optional

import torch

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
import condconv_det  # noqa: E402,F401  (registers the backbones)
from condconv_det.models.utils import upcycle_state_dict  # noqa: E402


def upcycle_checkpoint(src: str,
                       dst: str,
                       backbone_cfg: Dict,
                       prefix: str = 'backbone.',
                       noise_std: float = 0.,
                       seed: Optional[int] = 0,
                       routing_init_scale: float = 0.) -> Dict:
    """Upcycle ``src`` into the CondConv backbone built from ``backbone_cfg`` and save ``{'state_dict', 'meta'}``."""
    from mmdet.registry import MODELS
    ckpt = torch.load(src, map_location='cpu', weights_only=True)
    state_dict = ckpt.get('state_dict', ckpt)
    static = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)} if prefix else state_dict
    if not static:
        raise KeyError(f'no key of {src} starts with {prefix!r}')
    cfg = dict(backbone_cfg)
    if 'classifier.fc.weight' in static and 'num_classes' not in cfg:
        cfg['num_classes'] = static['classifier.fc.weight'].shape[0]
    model = MODELS.build(cfg)
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    upcycled = upcycle_state_dict(static, model, noise_std=noise_std, generator=generator,
                                  routing_init_scale=routing_init_scale)
    meta = dict(source=osp.basename(src), converter='upcycle_static_to_condconv', key_prefix=prefix,
                backbone_cfg=json.dumps({k: v for k, v in cfg.items()}, default=str), noise_std=noise_std,
                routing_init_scale=routing_init_scale)
    torch.save(dict(state_dict={prefix + k: v for k, v in upcycled.items()}, meta=meta), dst)
    return upcycled


def main(argv: Optional[List[str]] = None) -> None:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='static checkpoint (mmdet keys)')
    parser.add_argument('dst', help='output CondConv checkpoint')
    parser.add_argument('--backbone', default='CondConvMobileNetV2', help='registered CondConv backbone type')
    parser.add_argument('--config', help='take model.backbone from this mmdet config instead of --backbone')
    parser.add_argument('--num-experts', type=int, default=8)
    parser.add_argument('--kwargs', default='{}', help='extra backbone arguments as JSON')
    parser.add_argument('--noise-std', type=float, default=0., help='zero-mean expert noise, relative to kernel std')
    parser.add_argument('--routing-init-scale', type=float, default=0.,
                        help="routing weights at this fraction of nn.Linear's default init (0: exact function)")
    parser.add_argument('--prefix', default='backbone.', help='key prefix of SRC (stripped) and DST (added)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--whole-detector', action='store_true',
                        help="upcycle every key of SRC into --config's whole model (prefix '')")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of --config (k=v), e.g. model.backbone.num_experts=1')
    args = parser.parse_args(argv)
    if args.whole_detector and not args.config:
        parser.error('--whole-detector needs --config (the CondConv detector to upcycle into)')
    if args.cfg_options and not args.config:
        parser.error('--cfg-options overrides --config: give the config too')
    if args.config:
        from mmengine.config import Config
        config = Config.fromfile(args.config)
        if args.cfg_options:
            config.merge_from_dict(args.cfg_options)
        model_cfg = config.model
        cfg = (model_cfg if args.whole_detector else model_cfg.backbone).to_dict()
        if args.whole_detector:
            from mmdet.utils import register_all_modules
            register_all_modules()  # the detector builds its data preprocessor in the mmdet scope
            args.prefix = ''
    else:
        cfg = dict(type=args.backbone, num_experts=args.num_experts, **json.loads(args.kwargs))
    out = upcycle_checkpoint(args.src, args.dst, cfg, args.prefix, args.noise_std, args.seed, args.routing_init_scale)
    what = f"detector {cfg['type']}" if args.whole_detector else f'backbone {cfg}'
    print(f'saved {len(out)} tensors to {args.dst} (key prefix {args.prefix!r}, {what})')
    optim_wrapper = config.get('optim_wrapper', {}) if args.config else {}
    if optim_wrapper.get('constructor') == 'CondConvOptimWrapperConstructor':
        print(f"train it with --config: its optim_wrapper sets {optim_wrapper.get('paramwise_cfg')}")
        return
    prefixes = "'backbone', 'bbox_head'" if args.whole_detector else f"'{args.prefix.rstrip('.')}',"
    print("train it with optim_wrapper=dict(constructor='CondConvOptimWrapperConstructor', paramwise_cfg=dict("
          "condconv=dict(expert_lr_mult='num_experts', expert_decay_mult='1/num_experts', module_prefixes=("
          f"{prefixes})))): at the uniform start routing the upcycled experts otherwise learn "
          f"{args.num_experts if not args.config else 'E'} times slower than the static kernels (README, BCCD); with "
          "E=1 the sigmoid routing starts at 0.5: use expert_lr_mult=4.0, expert_decay_mult=0.25 instead")


if __name__ == '__main__':
    main()
