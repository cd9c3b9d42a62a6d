"""第 6 章（PyTorch）的模型与超参数，直接取自笔记本，供 ``bench_train.py --gpu`` 使用。

不另写一份模型：对每个笔记本（6.5 取 PyTorch 版，见 ``tools/editions.py``），按顺序执行训练单元
（标签 ``gpu``）之前的全部代码单元（练习的答案除外），取出其中最后定义的 ``net``；学习率、批量大小取自
训练单元里的 ``lr, num_epochs, batch_size = …``，图像大小取自它的 ``resize=…``。笔记本里的模型一改，
基准测试用的就是改过的模型。只需要标准库、PyTorch 和本仓库（GPU 机器上没有 Jupyter 也能用）。

``CH6``：(名称, 构造函数, resize, 批量大小, 学习率)；构造函数每次调用都重新执行那些单元，得到一个新的模型。
"""
import contextlib
import io
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools import editions  # noqa: E402

CH6_DIR = ROOT / 'chapters' / 'ch06_modern-cnn'
SETTINGS = re.compile(r'^lr, num_epochs, batch_size = (\S+), (\S+), (\S+)$', re.M)
RESIZE = re.compile(r'resize=(\d+)')


def notebook_cells(path):
    """PyTorch 版（单框架的笔记本就是它本身）中训练单元之前的代码单元，以及训练单元本身。"""
    nb = json.loads(Path(path).read_text(encoding='utf-8'))
    eds = editions.editions(nb)
    edition = editions.extract(nb, 'pytorch' if 'pytorch' in eds else eds[0])
    before = []
    for c in edition['cells']:
        if c['cell_type'] != 'code' or 'answer' in editions.tags(c):
            continue
        if 'gpu' in editions.tags(c):
            return before, editions.source(c)
        before.append(c)
    raise ValueError(f'{path}：找不到标签为 gpu 的训练单元')


def build(path):
    """执行笔记本中训练单元之前的代码，返回 (net, resize, batch_size, lr)。"""
    import matplotlib
    matplotlib.use('Agg')
    before, train_src = notebook_cells(path)
    ns = {'__name__': '__notebook__'}
    for c in before:
        src = '\n'.join(l for l in editions.source(c).splitlines() if not l.lstrip().startswith(('%', '!')))
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(src, f'{Path(path).name}[{c.get("id")}]', 'exec'), ns)  # noqa: S102
    m = SETTINGS.search(train_src)
    if not m:
        raise ValueError(f'{path}：训练单元里没有 lr, num_epochs, batch_size = …')
    lr, _, batch_size = m.groups()
    r = RESIZE.search(train_src)
    return ns['net'], int(r.group(1)) if r else 28, int(batch_size), float(lr)


def _entry(name, filename):
    path = CH6_DIR / filename
    _, resize, batch_size, lr = build(path)
    return name, (lambda: build(path)[0]), resize, batch_size, lr


NOTEBOOKS = [
    ('6.1 AlexNet', '6.1_alexnet.ipynb'),
    ('6.2 VGG-11（通道数 1/4）', '6.2_vgg.ipynb'),
    ('6.3 NiN', '6.3_nin.ipynb'),
    ('6.4 GoogLeNet', '6.4_googlenet.ipynb'),
    ('6.6 ResNet-18', '6.6_resnet.ipynb'),
    ('6.7 DenseNet', '6.7_densenet.ipynb'),
]


def __getattr__(name):  # CH6 在第一次用到时才构建（要执行笔记本里的代码）
    if name == 'CH6':
        value = [_entry(*n) for n in NOTEBOOKS]
        globals()['CH6'] = value
        return value
    raise AttributeError(name)
