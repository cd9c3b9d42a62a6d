"""数据层：Fashion-MNIST 的首次/再次加载，以及本书的加载器与原书逐样本管道的吞吐量。"""
import os
import subprocess
import sys
import tempfile

from common import ROOT, median, now

_LOAD_SNIPPET = '''
import time
t = time.perf_counter()
from utils import data
X_train, y_train, X_test, y_test = data.load_fashion_mnist()
assert X_train.shape == (60000, 28, 28) and X_test.shape == (10000, 28, 28)
print(time.perf_counter() - t)
'''


def source_dir():
    """四个 IDX 文件所在的目录（冷启动时让子进程从这里读 .gz，而不是读缓存）"""
    from utils import data
    for d in data.fashion_mnist_dirs():
        if (d / 'train-images-idx3-ubyte.gz').is_file() or (d / 'train-images-idx3-ubyte').is_file():
            return d
    raise SystemExit('找不到 Fashion-MNIST 的 IDX 文件；见 utils/data.py 的说明')


def _load_once(env):
    out = subprocess.run([sys.executable, '-c', _LOAD_SNIPPET], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return float(out.stdout.strip().splitlines()[-1])


def bench_load(rounds=2):
    """每轮一个全新的 XDG_CACHE_HOME：第一次加载读 .gz、校验、解码、写 .npy；第二次读 .npy。"""
    src = source_dir()
    cold, warm = [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix='d2l-bench-cache-') as cache:
            env = dict(os.environ, XDG_CACHE_HOME=cache, FASHION_MNIST_DIR=str(src),
                       PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE='1')
            cold.append(_load_once(env))
            warm.append(_load_once(env))
    return {'source': str(src), 'cold': cold, 'warm': warm,
            'cold_s': median(cold), 'warm_s': median(warm)}


# ------------------------------------------------------------------ 迭代吞吐量
def _iterate(loader, max_batches, sync):
    start, n = now(), 0
    for i, (X, y) in enumerate(loader):
        sync(X, y)
        n += X.shape[0]
        if max_batches is not None and i + 1 >= max_batches:
            break
    return n, now() - start


def _compare(book_factory, textbook_factory, max_batches, sync, rounds):
    """交替运行两边（A B、B A …），各取中位数"""
    res = {'book': [], 'textbook': []}
    for r in range(rounds):
        order = [('book', book_factory), ('textbook', textbook_factory)]
        if r % 2:
            order.reverse()
        for name, factory in order:
            loader = factory()
            n, t = _iterate(loader, max_batches, sync)
            del loader
            res[name].append(n / t)
    book, text = median(res['book']), median(res['textbook'])
    return {'book': book, 'textbook': text, 'ratio': book / text, 'raw': res}


def configs(quick=False):
    """(名称, 批量大小, resize, 最多批量数, 轮数)"""
    return [('28×28, batch 256, 1 epoch (60,000)', 256, None, None, 1 if quick else 2),
            ('224×224, batch 128, 50 batches (6,400)', 128, 224, 10 if quick else 50, 1)]


def bench_mxnet(workers=2, quick=False):
    import gc
    from utils import data
    from utils import mxnet as d2l
    import textbook
    arrays = data.load_fashion_mnist()
    X, y = arrays[0], arrays[1]

    def sync(X, y):
        X.wait_to_read()
        y.wait_to_read()

    out = []
    for name, bs, resize, nb, rounds in configs(quick):
        r = _compare(lambda: d2l.ArrayLoader(X, y, bs, True, resize),
                     lambda: textbook.gluon_loaders(arrays, bs, resize, workers)[0],
                     nb, sync, rounds)
        gc.collect()
        out.append(dict(r, config=name))
    return out


def bench_torch(workers=2, quick=False):
    """PyTorch 的计算线程数对结果影响很大（机器忙时，2 个线程的 OpenMP 会互相等待），
    所以本书加载器在 torch 默认线程数和 1 个线程下各测一次，每次都与原书管道交替比较。"""
    import torch
    from utils import data
    from utils import torch as d2l
    import textbook
    arrays = data.load_fashion_mnist()
    X, y = arrays[0], arrays[1]
    default = torch.get_num_threads()
    out = []
    for threads in dict.fromkeys([default, 1]):
        torch.set_num_threads(threads)
        for name, bs, resize, nb, rounds in configs(quick):
            r = _compare(lambda: d2l.TensorLoader(X, y, bs, True, resize, device='cpu'),
                         lambda: textbook.torch_loaders(arrays, bs, resize, workers)[0],
                         nb, lambda X, y: None, rounds)
            out.append(dict(r, config=name, threads=threads, default_threads=default))
    torch.set_num_threads(default)
    return out
