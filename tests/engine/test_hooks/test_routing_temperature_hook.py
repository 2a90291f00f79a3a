"""RoutingTemperatureHook: linear annealing of SoftmaxRouting's temperature (DynamicConv-style schedule)."""
from types import SimpleNamespace

import pytest
import torch.nn as nn
from mmdet.registry import HOOKS
from mmengine.logging import MessageHub

from condconv_det.engine.hooks import RoutingTemperatureHook
from condconv_det.layers import CondConv2d, SoftmaxRouting


def test_schedule_by_iterations_and_epochs():
    hook = RoutingTemperatureHook(start_temperature=30.0, end_temperature=1.0, anneal_iters=10)
    assert [hook.temperature_at(i) for i in (0, 5, 10, 50)] == [30.0, 15.5, 1.0, 1.0]
    hook = RoutingTemperatureHook()  # DynamicConv default: 30 -> 1 over 10 epochs
    assert hook.temperature_at(0, iters_per_epoch=100) == 30.0
    assert hook.temperature_at(500, iters_per_epoch=100) == 15.5
    assert hook.temperature_at(1000, iters_per_epoch=100) == 1.0


def test_before_train_iter_sets_every_softmax_routing():
    model = nn.Sequential(CondConv2d(4, 4, 3, routing_cfg=dict(type='SoftmaxRouting')),
                          CondConv2d(4, 4, 1, routing_cfg=dict(type='SoftmaxRouting')), CondConv2d(4, 4, 1))
    runner = SimpleNamespace(model=model, iter=3, train_dataloader=[0] * 2,
                             message_hub=MessageHub.get_instance('routing_temperature_hook_test'))
    hook = HOOKS.build(dict(type='RoutingTemperatureHook', start_temperature=11.0, end_temperature=1.0,
                            anneal_epochs=1))
    hook.before_train_iter(runner, batch_idx=1)
    temperatures = [m.temperature for m in model.modules() if isinstance(m, SoftmaxRouting)]
    assert temperatures == [1.0, 1.0]
    runner.iter = 1
    hook.before_train_iter(runner, batch_idx=1)
    assert [m.temperature for m in model.modules() if isinstance(m, SoftmaxRouting)] == [6.0, 6.0]
    assert runner.message_hub.get_scalar('train/routing_temperature').current() == 6.0


@pytest.mark.parametrize('kwargs, match', [
    (dict(start_temperature=0.0), 'start_temperature'),
    (dict(end_temperature=-1.0), 'end_temperature'),
    (dict(anneal_epochs=2, anneal_iters=5), 'at most one'),
    (dict(anneal_iters=-5), 'non-negative'),
])
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RoutingTemperatureHook(**kwargs)
