"""gpu 单元的门控：默认运行（没有 GPU 时自己缩减规模），--skip-gpu-cells 时跳过；nbval 从不比较它们的输出。"""
import re
import subprocess
import sys

from book import ROOT

NOTEBOOK = 'tests/notebooks/gpu_gating.ipynb'


def _run(*extra):
    r = subprocess.run([sys.executable, '-m', 'pytest', NOTEBOOK, '-p', 'no:cacheprovider', '-q', '-rs', '-n', '0',
                        '-o', 'testpaths=', *extra], cwd=ROOT, capture_output=True, text=True, timeout=600)
    return r.returncode, r.stdout + r.stderr


def test_gpu_cells_run_reduced_by_default():
    rc, out = _run()
    assert rc == 0, out
    assert re.search(r'\b4 passed\b', out) and 'skipped' not in out, out


def test_skip_gpu_cells_option_skips_exactly_the_gpu_cells():
    rc, out = _run('--skip-gpu-cells')
    assert rc == 0, out
    # 只有训练单元被跳过，其余单元照常运行并通过比较
    assert re.search(r'\b3 passed, 1 skipped\b', out), out
    assert 'gpu 单元（--skip-gpu-cells）' in out, out
