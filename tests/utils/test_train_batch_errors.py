"""explain_batchnorm_error: PyTorch's bare BatchNorm error for a training batch of one image, with its cause and the
fix (what tools/train.py re-raises as TrainBatchError when the run has no TrainBatchCheckHook)."""
import pytest
import torch
import torch.nn as nn

from condconv_det.utils import TrainBatchError, explain_batchnorm_error


def test_batchnorm_error_without_the_hook_is_explained():
    with pytest.raises(ValueError) as error:
        nn.BatchNorm2d(4).train()(torch.zeros(1, 4, 1, 1))
    explanation = explain_batchnorm_error(error.value)
    assert explanation.startswith('Expected more than 1 value per channel when training, got input size '
                                  'torch.Size([1, 4, 1, 1]): a training batch of 1 image reached a BatchNorm layer at '
                                  'a 1x1 feature map'), explanation
    assert 'n % batch_size == 1' in explanation
    assert "Fix: train_dataloader.batch_sampler=dict(type='FillLastBatchSampler')" in explanation
    assert explain_batchnorm_error(ValueError('another problem')) is None
    assert explain_batchnorm_error(TrainBatchError(explanation)) is None
