"""Matplotlib figures of a routing analysis (the JSON-ready summary of
:class:`condconv_det.analysis.routing_stats.RoutingStatistics`), so they can be redrawn from ``routing_stats.json``.

Figures (PNG): ``routing_class_means.png`` (per layer, mean routing per class minus the layer's mean),
``routing_class_specificity.png`` (eta²/epsilon² vs depth), ``routing_histograms.png`` (routing-value distribution per
depth: bimodality) and ``routing_expert_usage.png`` (mean weight and dominance of each expert per layer).
Uses ``matplotlib.figure.Figure`` directly (no pyplot state, no display needed).
"""
import math
import os
from typing import Any, Dict, List

import numpy as np
from matplotlib.figure import Figure

FIGURE_NAMES = ('class_means', 'class_specificity', 'histograms', 'expert_usage')
_PART_COLOURS = {'backbone': '#1f77b4', 'neck': '#2ca02c', 'bbox_head': '#d62728'}


def _part_colour(name: str) -> str:
    return _PART_COLOURS.get(name.split('.')[0], '#7f7f7f')


def _depth_labels(layers: List[Dict[str, Any]]) -> List[str]:
    return [f"{layer['depth']}: {layer['label']}" for layer in layers]


def plot_class_means(summary: Dict[str, Any], path: str, max_layers: int = 48, dpi: int = 110) -> str:
    """One small heatmap per layer: classes × experts, mean routing of the class minus the layer's overall mean
    (symmetric colour scale shared by all panels). At most ``max_layers`` panels, evenly spread over depth."""
    layers = _spread(summary['layers'], max_layers)
    classes = summary['class_names']
    ncols = min(6, max(1, len(layers)))
    nrows = max(1, math.ceil(len(layers) / ncols))
    fig = Figure(layout='constrained', figsize=(2.1 * ncols + 0.8, 0.35 * len(classes) * nrows + 0.9 * nrows + 0.6))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    deltas = []
    for layer in layers:
        mean = np.asarray(layer['mean'])
        rows = [np.asarray(layer['class_means'].get(c, np.full_like(mean, np.nan))) - mean for c in classes]
        deltas.append(np.stack(rows) if rows else np.zeros((0, len(mean))))
    limit = max([np.nanmax(np.abs(d)) for d in deltas if d.size and np.isfinite(d).any()] + [1e-6])
    image = None
    for index, ax in enumerate(axes.flat):
        if index >= len(layers):
            ax.axis('off')
            continue
        layer = layers[index]
        image = ax.imshow(deltas[index], cmap='RdBu_r', vmin=-limit, vmax=limit, aspect='auto',
                          interpolation='nearest')
        eta = layer['specificity']['eta_squared']
        ax.set_title(f"{layer['depth']}: {layer['label']}\neta²={eta:.2f}", fontsize=6)
        ax.set_yticks(range(len(classes)))
        ax.set_yticklabels(classes if index % ncols == 0 else [], fontsize=6)
        ax.set_xticks(range(layer['num_experts']))
        ax.set_xticklabels(range(layer['num_experts']), fontsize=5)
    fig.suptitle(f"Mean routing weight per class minus the layer mean (rows: the image's class, "
                 f"assign={summary.get('assign', 'area')}; columns: experts)", fontsize=8)
    if image is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.6)
    return _save(fig, path, dpi)


def plot_class_specificity(summary: Dict[str, Any], path: str, dpi: int = 110) -> str:
    """eta² and bias-corrected epsilon² per layer against depth (colour: backbone / neck / head), with the chance
    level of eta² for routing unrelated to class."""
    layers = summary['layers']
    depth = np.array([layer['depth'] for layer in layers])
    eta = np.array([layer['specificity']['eta_squared'] for layer in layers])
    eps = np.array([layer['specificity']['epsilon_squared'] for layer in layers])
    chance = [layer['specificity']['chance_eta_squared'] for layer in layers]
    fig = Figure(layout='constrained', figsize=(max(6.0, 0.16 * len(layers) + 2), 3.6))
    ax = fig.subplots()
    ax.plot(depth, eta, color='0.6', linewidth=0.8, zorder=1)
    ax.scatter(depth, eta, c=[_part_colour(layer['name']) for layer in layers], s=18, zorder=2, label='eta²')
    ax.plot(depth, eps, 'k--', linewidth=0.8, label='epsilon² (bias-corrected)')
    if any(c is not None for c in chance):
        ax.plot(depth, [np.nan if c is None else c for c in chance], ':', color='tab:orange',
                label='chance eta² (k-1)/(n-1)')
    constant = [layer for layer in layers if layer.get('constant')]
    if constant:
        ax.scatter([layer['depth'] for layer in constant], [layer['specificity']['eta_squared'] for layer in constant],
                   marker='x', c='k', s=40, zorder=3,
                   label=f"~constant routing (std across images < {summary.get('constant_std', 1e-3):g})")
    for part, colour in _PART_COLOURS.items():
        if any(layer['name'].split('.')[0] == part for layer in layers):
            ax.scatter([], [], c=colour, s=18, label=part)
    ax.set_xticks(depth)
    ax.set_xticklabels(_depth_labels(layers), rotation=90, fontsize=5)
    ax.set_ylabel('routing variance explained by class')
    ax.set_title(f"Class specificity of routing vs depth ({summary['images']} images, assign={summary['assign']})",
                 fontsize=9)
    ax.legend(fontsize=6, loc='upper left', bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3)
    return _save(fig, path, dpi)


def plot_histograms(summary: Dict[str, Any], path: str, num_curves: int = 4, dpi: int = 110) -> str:
    """Left: heatmap of the routing-value histogram of every layer (rows: depth, log colour scale). Right: the
    histograms of ``num_curves`` layers evenly spread over depth, with their bimodality coefficients."""
    layers = summary['layers']
    hist = np.array([layer['histogram'] for layer in layers])
    num_bins = hist.shape[1]
    edges = np.linspace(0.0, 1.0, num_bins + 1)
    centres = 0.5 * (edges[:-1] + edges[1:])
    fig = Figure(layout='constrained', figsize=(9.0, max(3.2, 0.13 * len(layers) + 1.2)))
    left, right = fig.subplots(1, 2, gridspec_kw=dict(width_ratios=[1.3, 1.0]))
    image = left.imshow(np.log10(hist + 1e-4), aspect='auto', cmap='viridis', extent=(0, 1, len(layers) - 0.5, -0.5),
                        interpolation='nearest')
    left.set_yticks(range(len(layers)))
    left.set_yticklabels(_depth_labels(layers), fontsize=max(3, min(6, 300 // max(len(layers), 1))))
    left.set_xlabel('routing weight')
    left.set_title('log10 fraction of routing weights per bin', fontsize=8)
    fig.colorbar(image, ax=left, shrink=0.8)
    picks = sorted(set(np.linspace(0, len(layers) - 1, min(num_curves, len(layers))).round().astype(int).tolist()))
    for index in picks:
        layer = layers[index]
        bc = layer['bimodality_coefficient']
        label = f"{layer['depth']}: {layer['label']} (BC={'n/a' if bc is None else f'{bc:.2f}'})"
        right.step(centres, hist[index], where='mid', label=label)
    right.set_xlabel('routing weight')
    right.set_ylabel('fraction of weights')
    right.set_title('Histograms at a few depths (BC > 0.555: bimodal)', fontsize=8)
    right.legend(fontsize=5)
    right.grid(alpha=0.3)
    return _save(fig, path, dpi)


def plot_expert_usage(summary: Dict[str, Any], path: str, dpi: int = 110) -> str:
    """Per layer (rows) and expert (columns): the mean routing weight, and the fraction of images in which the
    expert has the largest weight (one column per expert; layers with fewer experts padded blank)."""
    layers = summary['layers']
    width = max(layer['num_experts'] for layer in layers)

    def padded(key: str) -> np.ndarray:
        table = np.full((len(layers), width), np.nan)
        for row, layer in enumerate(layers):
            table[row, :layer['num_experts']] = layer[key]
        return table

    fig = Figure(layout='constrained', figsize=(7.5, max(3.0, 0.13 * len(layers) + 1.2)))
    axes = fig.subplots(1, 2)
    for ax, key, title, cmap in ((axes[0], 'mean', 'mean routing weight', 'magma'),
                                 (axes[1], 'expert_dominant_fraction', 'fraction of images where dominant',
                                  'Blues')):
        image = ax.imshow(padded(key), aspect='auto', cmap=cmap, interpolation='nearest', vmin=0, vmax=1)
        ax.set_title(title, fontsize=8)
        ax.set_xlabel('expert')
        ax.set_xticks(range(width))
        ax.set_yticks(range(len(layers)))
        ax.set_yticklabels(_depth_labels(layers) if ax is axes[0] else [],
                           fontsize=max(3, min(6, 300 // max(len(layers), 1))))
        fig.colorbar(image, ax=ax, shrink=0.8)
    return _save(fig, path, dpi)


def save_all_figures(summary: Dict[str, Any], out_dir: str, dpi: int = 110) -> Dict[str, str]:
    """Every figure of the analysis as ``out_dir/routing_<kind>.png``; returns kind -> path."""
    os.makedirs(out_dir, exist_ok=True)
    if not summary['layers']:
        raise ValueError('no routing layers in the summary: nothing to plot')
    plotters = dict(class_means=plot_class_means, class_specificity=plot_class_specificity,
                    histograms=plot_histograms, expert_usage=plot_expert_usage)
    return {kind: plotters[kind](summary, os.path.join(out_dir, f'routing_{kind}.png'), dpi=dpi)
            for kind in FIGURE_NAMES}


def _spread(items: List[Any], limit: int) -> List[Any]:
    if len(items) <= limit:
        return list(items)
    picks = sorted(set(np.linspace(0, len(items) - 1, limit).round().astype(int).tolist()))
    return [items[i] for i in picks]


def _save(fig: Figure, path: str, dpi: int) -> str:
    fig.savefig(path, dpi=dpi)
    return path


__all__ = ['FIGURE_NAMES', 'plot_class_means', 'plot_class_specificity', 'plot_histograms', 'plot_expert_usage',
           'save_all_figures']
