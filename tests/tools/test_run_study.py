"""tools/analysis/run_study.py: seeded conditions through tools/train.py + tools/test.py, resumable, tabulated."""
import csv
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from condconv_det.analysis.study import StudyError, load_study, markdown_table, mean_std, summarise

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / 'tools/analysis/run_study.py'
STATIC = ROOT / 'configs/ssdlite/ssdlite_mobilenetv2_1xb16-30e_demo.py'
CONDCONV = ROOT / 'configs/ssdlite/ssdlite_condconv8x-mobilenetv2_1xb16-30e_demo.py'
TINY = {
    'train_cfg.max_epochs': 1, 'train_cfg.val_interval': 1, 'train_dataloader.batch_size': 4,
    'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
    'val_dataloader.num_workers': 0, 'val_dataloader.persistent_workers': False,
    'test_dataloader.num_workers': 0, 'test_dataloader.persistent_workers': False,
    'default_hooks.checkpoint.interval': 1, 'default_hooks.checkpoint.save_best': None,
}
MAP = re.compile(r'coco/bbox_mAP: (-?[\d.]+)')


def write_study(path: Path, conditions: str, seeds='[0, 1]') -> Path:
    path.write_text(f'work_dir = "wd"\nresults_dir = "results"\nseeds = {seeds}\n_tiny = {TINY!r}\n'
                    f'conditions = [{conditions}]\n')
    return path


def test_bad_study_files_name_the_condition_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    study = write_study(tmp_path / 'a.py', 'dict(name="x", config="configs/missing.py")')
    with pytest.raises(StudyError, match=r'condition 0 \(x\): config configs/missing.py not found'):
        load_study(str(study))
    study = write_study(tmp_path / 'b.py', f'dict(name="x", config="{STATIC}", seeds=[])', seeds='None')
    with pytest.raises(StudyError, match=r'condition 0 \(x\): no seeds; give the condition `seeds=\[0, 1\]`'):
        load_study(str(study))
    study = write_study(tmp_path / 'c.py', f'dict(name="x", config="{STATIC}"), dict(name="x", config="{STATIC}")')
    with pytest.raises(StudyError, match=r"condition 1 \(x\): the name 'x' is used twice"):
        load_study(str(study))
    study = write_study(tmp_path / 'd.py', f'dict(name="x", config="{STATIC}", cfg_option={{}})')
    with pytest.raises(StudyError, match=r"unknown keys \['cfg_option'\]"):
        load_study(str(study))
    with pytest.raises(StudyError, match='study file nowhere.py not found'):
        load_study('nowhere.py')


def test_prepare_runs_only_the_steps_the_selected_conditions_need(tmp_path, monkeypatch):
    """``--only b`` must not rebuild what only ``a`` needs (e.g. retrain a base whose checkpoint is gone)."""
    sys.path.insert(0, str(TOOL.parent))
    from mmengine.logging import MMLogger
    from run_study import run_prepare
    MMLogger.get_instance('run_study')  # main() creates it
    monkeypatch.chdir(tmp_path)
    path = tmp_path / 's.py'
    path.write_text(f'work_dir = "wd"\nseeds = [0]\nconditions = [dict(name="a", config="{STATIC}"), '
                    f'dict(name="b", config="{STATIC}")]\nprepare = [dict(cmd="touch all", creates="all"), '
                    'dict(cmd="touch for_a", creates="for_a", needed_by=["a"]), '
                    'dict(cmd="touch for_b", creates="for_b", needed_by=["b"])]\n')
    study = load_study(str(path))
    run_prepare(study, 1, set())  # nothing to run: nothing to prepare
    assert not any((tmp_path / f).exists() for f in ('all', 'for_a', 'for_b'))
    run_prepare(study, 1, {'b'})
    assert (tmp_path / 'all').exists() and (tmp_path / 'for_b').exists() and not (tmp_path / 'for_a').exists()
    path.write_text(path.read_text().replace('needed_by=["a"]', 'needed_by=["c"]'))
    with pytest.raises(StudyError, match=r"needed_by unknown conditions \['c'\]; the study has \['a', 'b'\]"):
        load_study(str(path))


def test_summary_is_mean_and_sample_std_with_pooled_std_delta(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    study = load_study(str(write_study(tmp_path / 's.py', f'dict(name="a", config="{STATIC}"), '
                                       f'dict(name="b", config="{STATIC}", seeds=[0, 1, 2])')))
    rows = [dict(condition='a', seed='0', status='ok', test_mAP='0.40'),
            dict(condition='a', seed='1', status='ok', test_mAP='0.42'),
            dict(condition='b', seed='0', status='ok', test_mAP='0.44'),
            dict(condition='b', seed='1', status='ok', test_mAP='0.46'),
            dict(condition='b', seed='2', status='failed', test_mAP='')]
    summary = summarise(study, rows, [])
    assert summary[0]['test_mAP'] == pytest.approx((0.41, 0.02 ** 0.5 / 10 * 1.0, 2))
    assert summary[1]['ok'] == 2 and summary[1]['failed'] == [2]
    assert summary[1]['delta_mAP'] == pytest.approx(0.04)
    # both conditions have std sqrt(2e-4): pooled std is the same, delta = 0.04 / 0.01414 = 2.83
    assert summary[1]['delta_in_pooled_std'] == pytest.approx(0.04 / (2e-4) ** 0.5)
    table = markdown_table(summary, study)
    assert '| b | 2/3 (failed: seeds [2]) | 0.450 ± 0.014 | 0.440 / 0.460 | +4.0 (+2.8×) |' in table
    assert mean_std(['', 'nan', None]) == (None, None, 0)


def _rows(path: Path):
    with open(path, newline='') as file:
        return list(csv.DictReader(file))


@pytest.mark.slow
def test_study_runs_resumes_after_a_kill_and_tabulates_the_runs_own_metrics(tmp_path):
    subprocess.run([sys.executable, str(ROOT / 'tools/misc/make_demo_dataset.py'), '--out', 'data/demo',
                    '--num-train', '8', '--num-val', '4'], cwd=tmp_path, check=True, capture_output=True)
    conditions = (f'dict(name="static", config="{STATIC}", cfg_options=_tiny), '
                  f'dict(name="condconv", config="{CONDCONV}", cfg_options=_tiny), '
                  f'dict(name="broken", config="{STATIC}", seeds=[0], '
                  'cfg_options=dict(_tiny, **{"model.backbone.out_indices": [99]}))')
    study = write_study(tmp_path / 'study.py', conditions)
    command = [sys.executable, str(TOOL), str(study), '--latency-repeats', '2']
    results = tmp_path / 'results/results.csv'

    # Kill the study while its second run (condconv seed 0) trains; the first run's row is already written.
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 600
    while time.time() < deadline and not (results.is_file() and len(_rows(results)) >= 1):
        assert proc.poll() is None, 'the study stopped before its first run finished'
        time.sleep(1)
    time.sleep(3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert [(r['condition'], r['seed'], r['status']) for r in _rows(results)] == [('static', '0', 'ok')]

    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]  # the broken run failed, the rest ran
    rows = {(r['condition'], int(r['seed'])): r for r in _rows(results)}
    assert set(rows) == {('static', 0), ('static', 1), ('condconv', 0), ('condconv', 1), ('broken', 0)}
    assert rows[('broken', 0)]['status'] == 'failed'
    assert 'tools/train.py exited with 1; see wd/broken/seed0/train.log' in rows[('broken', 0)]['error']
    # the finished run was not run again: one train command in its log
    assert (tmp_path / 'wd/static/seed0/train.log').read_text().count('\n$ ') == 1
    for (name, seed), row in rows.items():
        if name == 'broken':
            continue
        assert row['status'] == 'ok', row
        own = [float(m) for m in MAP.findall((tmp_path / f'wd/{name}/seed{seed}/test.log').read_text())]
        assert own == [pytest.approx(float(row['test_mAP']), abs=1e-4)]
    assert rows[('condconv', 0)]['backbone_routing_std'] != '' and rows[('static', 0)]['backbone_routing_std'] == ''
    table = (tmp_path / 'results/summary.md').read_text()
    static_maps = [float(rows[('static', s)]['test_mAP']) for s in (0, 1)]
    mean, std, _ = mean_std(static_maps)
    assert f'| static | 2/2 | {mean:.3f} ± {std:.3f} |' in table
    assert '| broken | 0/1 (failed: seeds [0]) |' in table
    assert (tmp_path / 'results/summary.png').stat().st_size > 1000
    costs = {r['condition']: r for r in _rows(tmp_path / 'results/cost.csv')}
    assert float(costs['static']['latency_ratio']) == pytest.approx(1.0)
    assert float(costs['condconv']['params_m']) > 3 * float(costs['static']['params_m'])
    assert costs["broken"]["latency_ratio"] == "" and "out_indices" in costs["broken"]["error"]

    again = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and '0 runs to do' in again.stdout + again.stderr
    # the study log keeps every invocation, the killed one included
    assert (tmp_path / 'wd/study.log').read_text().count(' runs to do ') == 3
