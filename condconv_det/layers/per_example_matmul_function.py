"""Memory-lean autograd function for CondConv as a batched matrix product (eq. (1), Yang et al., 2019): 1x1 kernels
on the input itself, any kernel on its im2col columns (``F.unfold``, differentiated by autograd outside).

Forward mixes the per-example ``(out, in*kh*kw)`` matrices ``K_b = sum_i r_{b,i} W_i`` into a reused buffer and
multiplies; it saves only the input, routing weights, experts and biases. Backward recomputes ``K`` (one GEMM
into the same buffer) instead of keeping ``B`` copies of the kernel alive between forward and backward, and writes
``dK`` into a second reused buffer before reducing it to the expert gradient ``r^T @ dK`` and the routing gradient
``dK @ W^T``. Exactly the same arithmetic as the autograd-recorded path (tests compare both with a per-example loop).
Used for kernels of ``workspace.WORKSPACE_MIN_BYTES`` or more (smaller ones: plain ops were as fast, see there).

With ``create_graph=True`` the backward uses ordinary differentiable ops, so double backward works too.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from .kernel_mixing import mix_expert_biases, mix_expert_kernels
from .workspace import borrow_workspace


class PerExampleMatmulFunction(torch.autograd.Function):
    """``y = K x + b`` per example; ``x`` is given as ``cols (B*g, C/g*kh*kw, L)`` or, with ``rows_layout`` (1x1,
    channels_last, ``g == 1``), as ``rows (B, L, C)``. Returns ``(B*g, out/g, L)`` or ``(B, L, out)``.
    ``weight`` must be contiguous (the kernel matrices are views of the mixed kernels)."""

    @staticmethod
    def forward(ctx, x_mat: Tensor, routing_weights: Tensor, weight: Tensor, bias: Optional[Tensor], groups: int,
                rows_layout: bool) -> Tensor:
        ctx.groups, ctx.rows_layout = groups, rows_layout
        ctx.save_for_backward(x_mat, routing_weights, weight, bias)
        kernels = _kernel_matrices(routing_weights, weight, groups, 'matmul.kernels')
        return apply_kernel_matrices(x_mat, kernels, mix_expert_biases(routing_weights, bias), rows_layout)

    @staticmethod
    def backward(ctx, grad_y: Tensor) -> Tuple[Optional[Tensor], ...]:
        x_mat, routing_weights, weight, bias = ctx.saved_tensors
        need_x, need_routing, need_weight, need_bias = ctx.needs_input_grad[:4]
        lean = not torch.is_grad_enabled()  # create_graph=True: plain differentiable ops instead of buffers
        groups = ctx.groups
        batch, num_experts = routing_weights.shape
        kernels = _kernel_matrices(routing_weights, weight, groups, 'matmul.kernels' if lean else None)
        grad_x = grad_routing = grad_weight = grad_bias = None
        if need_x:
            grad_x = torch.bmm(grad_y, kernels) if ctx.rows_layout else torch.bmm(kernels.transpose(1, 2), grad_y)
        grad_mixed_bias = None
        if bias is not None and (need_bias or need_routing):
            grad_mixed_bias = grad_y.sum(1) if ctx.rows_layout else grad_y.sum(2).reshape(batch, -1)
        if need_weight or need_routing:
            if ctx.rows_layout:  # dK_b = dY_b^T X_b : (out, L) @ (L, C)
                left, right = grad_y.transpose(1, 2), x_mat
            else:  # dK = dY X^T per (example, group)
                left, right = grad_y, x_mat.transpose(1, 2)
            if lean:
                out = borrow_workspace('matmul.grad_kernels', kernels.shape, kernels.dtype, kernels.device)
                grad_kernels = torch.bmm(left, right, out=out)
            else:
                grad_kernels = torch.bmm(left, right)
            grad_flat = grad_kernels.reshape(batch, -1)
            weight_flat = weight.reshape(num_experts, -1)
            if need_weight:
                grad_weight = _to_weight_layout(torch.mm(routing_weights.t(), grad_flat), weight)
            if need_routing:
                grad_routing = torch.mm(grad_flat, weight_flat.t())
        if grad_mixed_bias is not None:
            if need_routing:
                grad_routing = grad_routing + torch.mm(grad_mixed_bias, bias.t())
            if need_bias:
                grad_bias = torch.mm(routing_weights.t(), grad_mixed_bias)
        return grad_x, grad_routing, grad_weight, grad_bias, None, None


def apply_kernel_matrices(x_mat: Tensor, kernels: Tensor, biases: Optional[Tensor], rows_layout: bool) -> Tensor:
    """``K @ x + b`` per (example, group): ``kernels (B*g, out/g, K)``, ``biases (B, out)`` or ``None``;
    ``x_mat`` as ``cols (B*g, K, L)`` gives ``(B*g, out/g, L)``, as ``rows (B, L, K)`` (``rows_layout``)
    ``(B, L, out)``."""
    if rows_layout:
        if biases is None:
            return torch.bmm(x_mat, kernels.transpose(1, 2))
        return torch.baddbmm(biases.unsqueeze(1), x_mat, kernels.transpose(1, 2))
    if biases is None:
        return torch.bmm(kernels, x_mat)
    return torch.baddbmm(biases.view(kernels.shape[0], kernels.shape[1], 1), kernels, x_mat)


def _to_weight_layout(grad_flat: Tensor, weight: Tensor) -> Tensor:
    return grad_flat.view(weight.shape)


def _kernel_matrices(routing_weights: Tensor, weight: Tensor, groups: int, slot: Optional[str]) -> Tensor:
    batch, out_channels = routing_weights.shape[0], weight.shape[1]
    kernels = mix_expert_kernels(routing_weights, weight, slot)
    return kernels.view(batch * groups, out_channels // groups, -1)
