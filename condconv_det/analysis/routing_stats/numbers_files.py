"""Write the routing statistics as files: ``routing_stats.json`` and two CSVs."""
import csv
import json
import os
from typing import Any, Dict, Optional


def write_numbers(summary: Dict[str, Any], out_dir: str) -> Dict[str, str]:
    """``routing_stats.json`` (everything), ``routing_layers.csv`` (one row per layer) and
    ``routing_class_means.csv`` (layer, class, expert, mean) under ``out_dir``; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = dict(json=os.path.join(out_dir, 'routing_stats.json'),
                 layers_csv=os.path.join(out_dir, 'routing_layers.csv'),
                 class_means_csv=os.path.join(out_dir, 'routing_class_means.csv'))
    with open(paths['json'], 'w') as file:
        json.dump(summary, file, indent=1)
    columns = ['depth', 'name', 'stage', 'num_experts', 'images', 'eta_squared', 'epsilon_squared',
               'chance_eta_squared', 'mean_std_across_images', 'constant', 'mean_entropy', 'near_zero_fraction',
               'near_one_fraction', 'bimodality_coefficient', 'max_expert_dominant_fraction']
    with open(paths['layers_csv'], 'w', newline='') as file:
        writer = csv.writer(file)
        writer.writerow(columns)
        for layer in summary['layers']:
            spec = layer['specificity']
            writer.writerow([layer['depth'], layer['name'], layer['stage'], layer['num_experts'], layer['images'],
                             _fmt(spec['eta_squared']), _fmt(spec['epsilon_squared']),
                             _fmt(spec['chance_eta_squared']), _fmt(layer['mean_std_across_images']),
                             int(layer['constant']),
                             _fmt(layer['mean_entropy']), _fmt(layer['near_zero_fraction']),
                             _fmt(layer['near_one_fraction']), _fmt(layer['bimodality_coefficient']),
                             _fmt(max(layer['expert_dominant_fraction']))])
    with open(paths['class_means_csv'], 'w', newline='') as file:
        writer = csv.writer(file)
        writer.writerow(['depth', 'name', 'class', 'expert', 'mean_routing'])
        for layer in summary['layers']:
            for class_name, means in layer['class_means'].items():
                for expert, value in enumerate(means):
                    writer.writerow([layer['depth'], layer['name'], class_name, expert, _fmt(value)])
    return paths


def _fmt(value: Optional[float]) -> str:
    return '' if value is None else f'{value:.6g}'
