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


def test_gpu_benchmarks_dry_run_on_cpu():
    """GPU 部分（加载器比较、训练循环逐步改动）在 CPU 上按极小的规模走一遍，表格能生成：
    GPU 机器难得，不能让它在基准测试的代码错误上白白花掉。"""
    import argparse
    import bench_train
    import run
    only, kw = 1, dict(warmup=1, device='cpu', batch_size=2)
    loaders = bench_train.bench_gpu(workers=0, batches=1, only=only, **kw)
    steps = bench_train.bench_gpu_steps(batches=1, eval_batches=1, only=only, matmul_n=128, animator_calls=2, **kw)
    assert [m['model'] for m in steps['models']] == [models.CH6[0][0]]
    assert set(steps['models'][0]['train']) == {s for s, _ in bench_train.GPU_STEPS}
    assert steps['models'][0]['forward_flops'] > 1e9  # AlexNet 在 224×224 上约 1.3 GFLOPs
    args = argparse.Namespace(workers=2, gpu_workers=4)
    info = run.machine_info()
    raw = {'info': {'gpu': info, 'gpu-steps': info}, 'gpu': loaders, 'gpu-steps': steps}
    sections = run.render(args, raw)
    assert '本书 / 原书' in sections['gpu']
    text = sections['gpu-steps']
    for word in ('`channels_last`', '合计', '物理上限', 'bf16 上限', models.CH6[0][0]):
        assert word in text, word
    skipped = run.render(args, {'info': {'gpu': info, 'gpu-steps': info}, 'gpu': [{'skipped': '没有 CUDA'}],
                                'gpu-steps': {'skipped': '没有 CUDA'}})
    assert all('等待一次有 GPU 的会话' in skipped[k] for k in ('gpu', 'gpu-steps'))
