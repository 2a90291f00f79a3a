"""`tools/dist_train.sh CONFIG 2`: 2-process DDP on CPU (gloo) through torchrun and mmengine's launcher.

Both ranks end with identical parameters; every parameter (CondConv experts and routing included) received a
gradient on every rank with `find_unused_parameters=False`. BN running statistics are per rank (mmengine wraps with
`broadcast_buffers=False`; use SyncBN to share them), so they are reported, not required equal.
"""
import json
import os

import pytest
import torch

import condconv_det  # noqa: F401  (mmengine's checkpoint types on the weights_only allow-list)
from reliability_utils import ROOT, run_tool, write_tiny_config

pytestmark = pytest.mark.slow
BN_STATS = ('running_mean', 'running_var')


def test_dist_train_two_cpu_ranks_agree_and_all_params_get_gradients(tiny_demo_dir):
    # No runner_type in the config: without a GPU, dist_train.sh itself selects CPUDDPRunner (mmengine 0.10's
    # init_dist/wrap_model assume CUDA; see condconv_det.engine.runner.cpu_ddp_runner).
    config = write_tiny_config(tiny_demo_dir, 'dist.py', epochs=1, extra_hooks=["dict(type='RankStateDumpHook')"])
    port = str(29500 + os.getpid() % 1000)
    out = run_tool([ROOT / 'tools/dist_train.sh', config, 2, '--work-dir', 'dist'], cwd=tiny_demo_dir,
                   env_extra={'PORT': port})
    assert 'Distributed training is not used' not in out
    assert 'instances_train.json: 8 images, 28 annotations, 0 error(s), 0 skipped item(s)' in out  # CheckedCocoDataset
    work_dir = tiny_demo_dir / 'dist'
    summaries = [json.loads((work_dir / f'rank{r}.json').read_text()) for r in (0, 1)]
    for rank, summary in enumerate(summaries):
        assert summary['rank'] == rank and summary['world_size'] == 2
        assert summary['iterations'] == 2  # 8 images / 2 ranks / batch 2
        assert summary['find_unused_parameters'] is False
        assert summary['without_grad'] == [], summary['without_grad']
        assert summary['num_trainable'] > 100

    rank0, rank1 = (torch.load(work_dir / f'rank{r}_params.pth', weights_only=True) for r in (0, 1))
    assert rank0.keys() == rank1.keys()
    cond_keys = [k for k in rank0 if 'routing' in k or rank0[k].dim() == 5]
    assert cond_keys, 'the model has no CondConv parameters'
    differ = [k for k in rank0 if not torch.equal(rank0[k], rank1[k])]
    assert all(k.endswith(BN_STATS) for k in differ), [k for k in differ if not k.endswith(BN_STATS)]

    checkpoint = torch.load(work_dir / 'epoch_1.pth', map_location='cpu', weights_only=True)['state_dict']
    assert all(torch.equal(checkpoint[k], rank0[k]) for k in rank0)  # the checkpoint is rank 0's state
