"""Temperature schedule of ``SoftmaxRouting`` (DynamicConv-style, Chen et al., CVPR 2020): anneal the softmax
temperature linearly from ``start_temperature`` to ``end_temperature`` over the first iterations/epochs, so that
early training mixes all experts nearly uniformly. Not needed by the paper's sigmoid routing (Yang et al., 2019)."""
from typing import Optional

from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from condconv_det.layers.softmax_routing import SoftmaxRouting


@HOOKS.register_module()
class RoutingTemperatureHook(Hook):
    """Set ``temperature`` of every ``SoftmaxRouting`` in the model before each training iteration.

    Args:
        start_temperature: temperature at the first iteration (DynamicConv uses 30).
        end_temperature: temperature after the annealing (and kept afterwards).
        anneal_epochs: length of the linear annealing in epochs (default 10 as DynamicConv when neither is given);
        anneal_iters: length in iterations; give at most one of the two.
    """

    priority = 'NORMAL'

    def __init__(self, start_temperature: float = 30.0, end_temperature: float = 1.0,
                 anneal_epochs: Optional[float] = None, anneal_iters: Optional[int] = None) -> None:
        for name, value in (('start_temperature', start_temperature), ('end_temperature', end_temperature)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f'{name} must be a positive number, got {name}={value!r}')
        if anneal_epochs is None and anneal_iters is None:
            anneal_epochs = 10
        if anneal_epochs is not None and anneal_iters is not None:
            raise ValueError(f'give at most one of anneal_epochs and anneal_iters, got anneal_epochs={anneal_epochs!r}'
                             f', anneal_iters={anneal_iters!r}')
        length = anneal_epochs if anneal_iters is None else anneal_iters
        if isinstance(length, bool) or not isinstance(length, (int, float)) or length < 0:
            raise ValueError(f'the annealing length must be a non-negative number, got {length!r}')
        self.start_temperature = float(start_temperature)
        self.end_temperature = float(end_temperature)
        self.anneal_epochs = anneal_epochs
        self.anneal_iters = anneal_iters

    def temperature_at(self, iteration: int, iters_per_epoch: int = 1) -> float:
        """Linearly interpolated temperature at global training ``iteration`` (0-based)."""
        total = self.anneal_iters if self.anneal_iters is not None else self.anneal_epochs * iters_per_epoch
        if total <= 0 or iteration >= total:
            return self.end_temperature
        fraction = iteration / total
        return self.start_temperature + (self.end_temperature - self.start_temperature) * fraction

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        iters_per_epoch = 1
        if self.anneal_iters is None:
            iters_per_epoch = len(runner.train_dataloader)
        temperature = self.temperature_at(runner.iter, iters_per_epoch)
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        found = set_routing_temperature(model, temperature)
        if found:
            runner.message_hub.update_scalar('train/routing_temperature', temperature)


def set_routing_temperature(model, temperature: float) -> int:
    """Set ``temperature`` on every ``SoftmaxRouting`` in ``model``; returns how many were set."""
    count = 0
    for module in model.modules():
        if isinstance(module, SoftmaxRouting):
            module.temperature = temperature
            count += 1
    return count
