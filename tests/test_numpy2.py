"""utils.torch 和数据层在 numpy 2 下也能用。

MXNet 1.9.1 要求 numpy 1.23，所以 .venv 里是 numpy 1.23；而读者自己的 PyTorch 环境和 GPU 机器上是 numpy 2。
这里把 numpy 2 装进 _build/numpy2（被 git 忽略，不动 .venv），在一个子进程里让它排在 PYTHONPATH 最前，
再运行不涉及 MXNet 的单元测试：PyTorch 加载器和训练、数据层、从第6章笔记本建立基准模型。
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NUMPY2 = '2.4.6'
TARGET = ROOT / '_build' / 'numpy2' / NUMPY2


def _numpy2_site():
    stamp = TARGET / '.installed'
    if not stamp.exists():
        TARGET.mkdir(parents=True, exist_ok=True)
        r = subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--disable-pip-version-check',
                            '--target', str(TARGET), f'numpy=={NUMPY2}'], capture_output=True, text=True)
        if r.returncode:
            pytest.skip(f'装不上 numpy=={NUMPY2}（没有连到软件包索引？）：{r.stderr.strip()[-300:]}')
        stamp.touch()
    return TARGET


def test_torch_utils_and_data_layer_under_numpy2(tmp_path):
    site = _numpy2_site()
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([str(site), str(ROOT)])
    env.pop('PYTEST_XDIST_WORKER', None)
    probe = subprocess.run([sys.executable, '-c', 'import numpy, torch, matplotlib, pandas; print(numpy.__version__)'],
                           env=env, capture_output=True, text=True, cwd=tmp_path)
    assert probe.returncode == 0, probe.stderr[-2000:]
    assert probe.stdout.strip() == NUMPY2, probe.stdout
    r = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:nbval', '-p', 'no:xdist', '-p', 'no:cacheprovider',
                        '-o', 'addopts=', '-k', 'not mxnet', '--rootdir', str(ROOT),
                        str(ROOT / 'tests' / 'test_utils.py'), str(ROOT / 'tests' / 'test_data.py'),
                        str(ROOT / 'tests' / 'test_benchmarks.py')],
                       env=env, capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, f'numpy {NUMPY2} 下有测试失败：\n{r.stdout[-4000:]}\n{r.stderr[-2000:]}'
    assert ' passed' in r.stdout and ' failed' not in r.stdout, r.stdout[-2000:]
