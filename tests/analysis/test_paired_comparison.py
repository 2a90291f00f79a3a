"""paired_delta pairs runs by (study, group, seed) and computes the paired statistics; tools/analysis/paired_delta.py
prints them and names bad input."""
import math
import statistics

import pytest

from condconv_det.analysis.paired_comparison import paired_delta


def rows(condition, values, status='ok'):
    return [dict(condition=condition, seed=str(seed), status=status, test_mAP=str(v)) for seed, v in values.items()]


def test_pairs_by_study_group_and_seed_and_computes_paired_statistics():
    study_a = (rows('static-ft-base2', {0: 0.470, 1: 0.474, 2: 0.472}) + rows('cc1-ft-base2', {0: 0.480, 1: 0.478})
               + rows('cc1-ft-base2', {2: 0.9}, status='failed') + rows('static', {0: 0.1}))  # 'static': no pair
    study_b = rows('static-ft', {0: 0.460, 1: 0.466}) + rows('cc1-ft', {0: 0.465, 1: 0.463})  # group '' of study 1
    result = paired_delta([study_a, study_b], 'static-ft', 'cc1-ft')
    deltas = [0.010, 0.004, 0.005, -0.003]
    assert (result.pairs, result.groups, result.ahead) == (4, 2, 3)
    assert result.delta == pytest.approx(statistics.fmean(deltas))
    assert result.delta_std == pytest.approx(statistics.stdev(deltas))
    assert result.t == pytest.approx(statistics.fmean(deltas) / (statistics.stdev(deltas) / 2))
    variances = [statistics.variance(v) for v in ([0.470, 0.474], [0.480, 0.478], [0.460, 0.466], [0.465, 0.463])]
    assert result.pooled_std == pytest.approx(math.sqrt(statistics.fmean(variances)))  # one dof each
    assert result.baseline[0] == pytest.approx(statistics.fmean([0.470, 0.474, 0.460, 0.466]))


def test_the_longer_prefix_claims_its_runs():
    study = rows('cc8', {0: 0.40}) + rows('cc8-frozen', {0: 0.50})
    result = paired_delta([study], 'cc8', 'cc8-frozen')
    assert result.pairs == 1 and result.delta == pytest.approx(0.10) and result.t is None


def test_no_pairs_names_both_conditions():
    with pytest.raises(ValueError, match="no pairs: no study has ok runs of both 'a' and 'b'"):
        paired_delta([rows('a', {0: 0.4}) + rows('b', {1: 0.5})], 'a', 'b')


def test_tool_prints_the_comparison_and_rejects_a_missing_file(load_tool, tmp_path, capsys):
    tool = load_tool('tools/analysis/paired_delta.py')
    csv = tmp_path / 'results.csv'
    csv.write_text('condition,seed,status,test_mAP\nstatic,0,ok,0.40\nstatic,1,ok,0.42\ncc,0,ok,0.43\ncc,1,ok,0.44\n')
    assert tool.main([str(csv), '--baseline', 'static', '--treatment', 'cc']) == 0
    out = capsys.readouterr().out
    assert '2 pairs on 1 starting points' in out and 'delta +2.50 ± 0.71 points, treatment ahead on 2/2' in out
    assert tool.main([str(tmp_path / 'none.csv'), '--baseline', 'static', '--treatment', 'cc']) == 2
    assert 'none.csv is missing or has no rows' in capsys.readouterr().err
