#!/usr/bin/env python
"""Treatment minus baseline over the pairs of runs that share a starting point and a seed, across studies.

    python tools/analysis/paired_delta.py docs/studies/A/results.csv [docs/studies/B/results.csv ...] \
        --baseline static-ft12e --treatment cc1-both-upcycled-ft12e [--metric test_mAP]

A condition ``PREFIX`` or ``PREFIX-GROUP`` of a study belongs to ``PREFIX``; runs of the same study, group and seed
are a pair (:mod:`condconv_det.analysis.paired_comparison`). Prints the pairs, both means, the mean difference in
points, how many pairs the treatment leads, the paired t and the difference in units of the pooled seed std.
"""
import argparse
import json
import sys
from dataclasses import asdict
from typing import List, Optional

from condconv_det.analysis.paired_comparison import paired_delta
from condconv_det.analysis.study import read_rows


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('results', nargs='+', help="results.csv files written by run_study.py")
    parser.add_argument('--baseline', required=True, help='condition name prefix of the baseline')
    parser.add_argument('--treatment', required=True, help='condition name prefix of the treatment')
    parser.add_argument('--metric', default='test_mAP', help='a results.csv column (default test_mAP)')
    parser.add_argument('--json', action='store_true', help='print the figures as JSON')
    args = parser.parse_args(argv)
    studies = []
    for path in args.results:
        rows = read_rows(path)
        if not rows:
            print(f'paired_delta: {path} is missing or has no rows; give the results.csv of a run_study.py study',
                  file=sys.stderr)
            return 2
        studies.append(rows)
    try:
        result = paired_delta(studies, args.baseline, args.treatment, args.metric)
    except ValueError as error:
        print(f'paired_delta: {error}', file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(dict(asdict(result), delta_in_pooled_std=result.delta_in_pooled_std)))
        return 0
    (bm, bs, _), (tm, ts, _) = result.baseline, result.treatment
    t = 'n/a' if result.t is None else f'{result.t:.1f}'
    pooled = 'n/a' if result.pooled_std is None else \
        f'{result.pooled_std * 100:.2f} points, delta = {result.delta_in_pooled_std:.1f}x'
    print(f'{result.pairs} pairs on {result.groups} starting points: {args.baseline} {bm:.3f} ± {bs:.3f}, '
          f'{args.treatment} {tm:.3f} ± {ts:.3f} ({args.metric})\n'
          f'delta {result.delta * 100:+.2f} ± {result.delta_std * 100:.2f} points, treatment ahead on '
          f'{result.ahead}/{result.pairs}, paired t {t}, pooled seed std {pooled}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
