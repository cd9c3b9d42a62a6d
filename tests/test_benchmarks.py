"""benchmarks/models.py 取笔记本里的模型，不另写一份：每个第 6 章笔记本都有它能找到的训练单元和设置。"""
import sys

import pytest

from book import ROOT

sys.path.insert(0, str(ROOT / 'benchmarks'))
import models  # noqa: E402


@pytest.mark.parametrize('name,filename', models.NOTEBOOKS, ids=[n for n, _ in models.NOTEBOOKS])
def test_benchmark_models_come_from_the_notebooks(name, filename):
    before, train_src = models.notebook_cells(models.CH6_DIR / filename)
    assert models.SETTINGS.search(train_src) and models.RESIZE.search(train_src)
    code = '\n'.join(c['source'] if isinstance(c['source'], str) else ''.join(c['source']) for c in before)
    assert 'net =' in code or 'net=' in code, f'{filename}：训练单元之前没有定义 net'
