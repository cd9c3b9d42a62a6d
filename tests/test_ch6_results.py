"""第 6 章的两张表：chapters/ch06_modern-cnn/index.md 中的表格必须与各笔记本存储的输出一致。

结果表的每一行来自一个版本（tools/editions.py）中的一个训练单元（输出中含 ``examples/sec on`` 的代码单元，
练习的参考答案（单元标签 ``answer``）不算）。6.5 节有 MXNet 和 PyTorch 两个版本，每个版本的从零实现和简明实现
各占一行；其余各节只有一个版本：
设置（批量大小、图像大小、学习率）取自单元的源代码，迭代周期取自输出中最后一行 ``epoch N, ...``，
损失、精度取自 ``train_ch6`` 打印的最后一行 ``loss …, train acc …, test acc …``，
速度和设备取自 ``… examples/sec on …``。

参数和计算量表的每一行来自 ``model_stats`` 打印的一行（utils/torch.py 和 utils/mxnet.py 的 ``model_stats``，
格式相同；6.5 节的两个版本打印的是同一行）：

    params 57,029,322 | forward FLOPs per example 1,326,564,480 (1.33 G) | input (1, 224, 224)

参数个数照抄，FLOPs 换算成 MFLOPs（保留一位小数），输入写成 1×224×224。

    python tests/test_ch6_results.py   # 打印应写入 index.md 的两张表
"""
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # 直接运行 python tests/test_ch6_results.py 时
    sys.path.insert(0, str(ROOT))

from tools import editions as ed  # noqa: E402
from utils.common import REDUCED_LABEL  # noqa: E402

CH6 = ROOT / 'chapters' / 'ch06_modern-cnn'
INDEX = CH6 / 'index.md'
HEADER = ['模型', '节', '批量大小', '图像大小', '学习率', '迭代周期', '损失', '训练精度', '测试精度', '样本/秒', '设备']

# (模型, 节, 笔记本, 版本, 该版本中第几个训练单元)；版本为 None 表示笔记本唯一的（默认）版本
MODELS = [
    ('AlexNet', '6.1', '6.1_alexnet.ipynb', None, 0),
    ('VGG-11（通道数 ÷4）', '6.2', '6.2_vgg.ipynb', None, 0),
    ('NiN', '6.3', '6.3_nin.ipynb', None, 0),
    ('GoogLeNet', '6.4', '6.4_googlenet.ipynb', None, 0),
    ('BN-LeNet（从零实现，MXNet）', '6.5', '6.5_batch-norm.ipynb', 'mxnet', 0),
    ('BN-LeNet（从零实现，PyTorch）', '6.5', '6.5_batch-norm.ipynb', 'pytorch', 0),
    ('BN-LeNet（简明实现，MXNet）', '6.5', '6.5_batch-norm.ipynb', 'mxnet', 1),
    ('BN-LeNet（简明实现，PyTorch）', '6.5', '6.5_batch-norm.ipynb', 'pytorch', 1),
    ('ResNet-18', '6.6', '6.6_resnet.ipynb', None, 0),
    ('DenseNet', '6.7', '6.7_densenet.ipynb', None, 0),
]

# 完整规模（在 GPU 上）应达到的测试精度
FULL_SCALE_MIN_TEST_ACC = {
    '6.1': 0.85, '6.2': 0.88, '6.3': 0.80, '6.4': 0.85, '6.5': 0.80, '6.6': 0.90, '6.7': 0.78,
}

# 参数和计算量表：(模型, 节, 笔记本, 该笔记本中第几行 model_stats 输出)
STATS = [
    ('AlexNet', '6.1', '6.1_alexnet.ipynb', 0),
    ('AlexNet（原论文的通道数，分两组，只用于比较）', '6.1', '6.1_alexnet.ipynb', 1),
    ('VGG-11（只用于比较）', '6.2', '6.2_vgg.ipynb', 0),
    ('VGG-11（通道数 ÷4）', '6.2', '6.2_vgg.ipynb', 1),
    ('NiN', '6.3', '6.3_nin.ipynb', 0),
    ('GoogLeNet', '6.4', '6.4_googlenet.ipynb', 0),
    ('BN-LeNet', '6.5', '6.5_batch-norm.ipynb', 0),
    ('ResNet-18', '6.6', '6.6_resnet.ipynb', 0),
    ('DenseNet', '6.7', '6.7_densenet.ipynb', 0),
]
STATS_HEADER = ['模型', '节', '输入', '参数个数', '每个样本的前向计算（MFLOPs）']
# model_stats 打印的一行；对空白宽容，括号里的可读单位不参与比较
STATS_RE = re.compile(r'params\s+([\d,]+)\s*\|\s*forward FLOPs per example\s+([\d,]+)[^|\n]*\|\s*'
                      r'input\s*\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,?\s*\)')

FINAL_RE = re.compile(r'^loss (\S+), train acc (\S+), test acc (\S+)$', re.M)
EPOCH_RE = re.compile(r'^epoch (\d+), loss ', re.M)
SPEED_RE = re.compile(r'^(\S+) examples/sec on (\S+)$', re.M)
SETTINGS_RE = re.compile(r'^lr, num_epochs, batch_size = (\S+), (\S+), (\S+)$', re.M)
RESIZE_RE = re.compile(r'resize=(\d+)')


def _text(x):
    return ''.join(x) if isinstance(x, list) else (x or '')


def edition_cells(path, edition=None):
    """笔记本中一个版本（默认版本）的代码单元，按顺序；练习的参考答案（标签 answer）不算。"""
    nb = json.loads(Path(path).read_text(encoding='utf-8'))
    edition = edition or ed.default_edition(nb)
    assert edition in ed.editions(nb), f'{Path(path).name} 没有 {edition} 版'
    return [c for c in ed.extract(nb, edition)['cells']
            if c['cell_type'] == 'code' and 'answer' not in c.get('metadata', {}).get('tags', [])]


def training_cells(path, edition=None):
    """一个版本中的训练单元：(源代码, 全部 stdout 文本)，按出现的顺序。"""
    out = []
    for c in edition_cells(path, edition):
        stdout = ''.join(_text(o.get('text')) for o in c.get('outputs', [])
                         if o.get('output_type') == 'stream' and o.get('name') == 'stdout')
        if 'examples/sec on' in stdout:
            out.append((_text(c['source']), stdout))
    return out


def settings_source(path, edition, index):
    """训练单元所用的设置：同一版本中本单元或它之前最近的一个 ``lr, num_epochs, batch_size = …``。"""
    found, last = -1, None
    for c in edition_cells(path, edition):
        src = _text(c['source'])
        m = SETTINGS_RE.search(src)
        if m:
            last = (m, RESIZE_RE.search(src))
        stdout = ''.join(_text(o.get('text')) for o in c.get('outputs', []) if o.get('output_type') == 'stream')
        if 'examples/sec on' in stdout:
            found += 1
            if found == index:
                return last
    raise AssertionError(f'{path.name} [{edition}]: 没有第 {index + 1} 个训练单元')


def row_from_notebook(model, section, name, edition, index):
    path = CH6 / name
    cells = training_cells(path, edition)
    assert len(cells) > index, f'{name} [{edition}]: 找不到第 {index + 1} 个训练单元的输出（需要先执行笔记本）'
    _, stdout = cells[index]
    (m_set, m_resize) = settings_source(path, edition, index)
    lr, _, batch_size = m_set.groups()
    size = m_resize.group(1) if m_resize else '28'
    epochs = EPOCH_RE.findall(stdout)
    finals = FINAL_RE.findall(stdout)
    speeds = SPEED_RE.findall(stdout)
    assert epochs and finals and speeds, f'{name}: 训练输出不完整'
    loss, train_acc, test_acc = finals[-1]
    speed, device = speeds[-1]
    return [model, section, batch_size, size, lr, epochs[-1], loss, train_acc, test_acc, speed, device]


def expected_rows():
    return [row_from_notebook(*m) for m in MODELS]


def stats_lines(path, edition=None):
    """一个版本（默认版本）存储的 stdout 中 model_stats 打印的各行，按出现的顺序：(参数个数, FLOPs, (通道, 高, 宽))。"""
    out = []
    for c in edition_cells(path, edition):
        for o in c.get('outputs', []):
            if o.get('output_type') == 'stream' and o.get('name') == 'stdout':
                for m in STATS_RE.finditer(_text(o.get('text'))):
                    params, flops = (int(g.replace(',', '')) for g in m.groups()[:2])
                    out.append((params, flops, tuple(int(g) for g in m.groups()[2:])))
    return out


def stats_row(params, flops, shape):
    return [f'{params:,}', f'{flops / 1e6:,.1f}', '×'.join(str(n) for n in shape)]


def expected_stats_rows():
    rows = []
    for model, section, name, index in STATS:
        found = stats_lines(CH6 / name)
        assert len(found) > index, (
            f'{name}: 找不到第 {index + 1} 行 model_stats 的输出（找到 {len(found)} 行；需要先执行笔记本）')
        params_s, flops_s, size = stats_row(*found[index])
        rows.append([model, section, size, params_s, flops_s])
    return rows


def table_rows(text, marker='测试精度'):
    """index.md 中表头含 marker 的那张表的表头和各行（去掉首尾的竖线，按竖线分列）。"""
    lines = [l.strip() for l in text.splitlines()]
    start = next(i for i, l in enumerate(lines) if l.startswith('|') and '模型' in l and marker in l)
    rows = []
    for l in lines[start:]:
        if not l.startswith('|'):
            break
        rows.append([c.strip() for c in l.strip('|').split('|')])
    header, sep, body = rows[0], rows[1], rows[2:]
    assert all(set(c) <= set(':-') for c in sep), sep
    return header, body


def markdown_table(rows, header=HEADER):
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '|'.join(['---'] * len(header)) + '|']
    lines += ['| ' + ' | '.join(r) + ' |' for r in rows]
    return '\n'.join(lines)


def test_index_table_matches_stored_outputs():
    header, body = table_rows(INDEX.read_text(encoding='utf-8'))
    assert header == HEADER
    expected = expected_rows()
    assert body == expected, ('index.md 的结果表与笔记本存储的输出不一致，应为：\n' + markdown_table(expected))


def test_index_stats_table_matches_stored_outputs():
    header, body = table_rows(INDEX.read_text(encoding='utf-8'), marker='参数个数')
    assert header == STATS_HEADER
    expected = expected_stats_rows()
    assert body == expected, ('index.md 的参数和计算量表与笔记本存储的 model_stats 输出不一致，应为：\n'
                              + markdown_table(expected, STATS_HEADER))


def test_model_stats_prints_what_the_table_parser_reads(capsys):
    """utils.torch.model_stats 的打印格式与 STATS_RE 一致，数字与手算的相同。"""
    import torch
    from torch import nn
    from utils import torch as d2l
    net = nn.Sequential(nn.Conv2d(1, 4, kernel_size=3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.Conv2d(4, 8, kernel_size=3, stride=2, padding=1, groups=2), nn.ReLU(),
                        nn.Flatten(), nn.Linear(8 * 4 * 4, 10))
    state = torch.get_rng_state()
    net.train()
    params, flops = d2l.model_stats(net, (1, 8, 8))
    assert net.training and torch.equal(state, torch.get_rng_state())
    out = capsys.readouterr().out
    m = STATS_RE.search(out)
    assert m, out
    macs = 4 * 8 * 8 * 1 * 9 + 8 * 4 * 4 * 2 * 9 + 10 * 128
    n_params = (4 * 9 + 4) + (4 + 4) + (8 * 2 * 9 + 8) + (128 * 10 + 10)
    assert (params, flops) == (n_params, 2 * macs)
    assert (int(m.group(1).replace(',', '')), int(m.group(2).replace(',', ''))) == (params, flops)
    assert tuple(int(g) for g in m.groups()[2:]) == (1, 8, 8)
    assert stats_row(params, flops, (1, 8, 8)) == [f'{n_params:,}', f'{2 * macs / 1e6:,.1f}', '1×8×8']


def test_every_edition_has_its_rows():
    """每个版本的每个训练单元在结果表里都有一行：双框架的笔记本（6.5 节）每个版本各有自己的行。"""
    for name in sorted({m[2] for m in MODELS}):
        nb = json.loads((CH6 / name).read_text(encoding='utf-8'))
        listed = {(m[3] or ed.default_edition(nb), m[4]) for m in MODELS if m[2] == name}
        indices = {i for _, i in listed}
        assert listed == {(e, i) for e in ed.editions(nb) for i in indices}, (name, sorted(listed))
        counts = {e: len(training_cells(CH6 / name, e)) for e in ed.editions(nb)}
        assert set(counts.values()) == {len(indices)}, (name, counts, sorted(indices))


def test_model_stats_agree_across_editions():
    """双框架的笔记本中，两个版本的 model_stats 打印的行相同（两个 model_stats 的计数规则相同）。"""
    for name in sorted({s[2] for s in STATS}):
        nb = json.loads((CH6 / name).read_text(encoding='utf-8'))
        found = {e: stats_lines(CH6 / name, e) for e in ed.editions(nb)}
        assert all(v == found[ed.default_edition(nb)] for v in found.values()), (name, found)


def test_index_says_cpu_rows_are_reduced():
    text = INDEX.read_text(encoding='utf-8')
    table_start = text.index('| ' + ' | '.join(HEADER[:3]))
    assert '缩减' in text[:table_start] and 'cpu' in text[:table_start]


@pytest.mark.parametrize('model,section,name,edition,index', MODELS, ids=[m[0] for m in MODELS])
def test_accuracy_thresholds(model, section, name, edition, index):
    row = dict(zip(HEADER, row_from_notebook(model, section, name, edition, index)))
    test_acc = float(row['测试精度'])
    if section == '6.5' and index == 1:
        # 简明实现的 BN-LeNet 在 CPU 上也按完整规模训练（两个版本都是）
        assert row['迭代周期'] == '10' and row['批量大小'] == '256'
        assert test_acc >= FULL_SCALE_MIN_TEST_ACC['6.5'], row
        return
    _, stdout = training_cells(CH6 / name, edition)[index]
    first = stdout.lstrip().splitlines()[0]
    if first.startswith(REDUCED_LABEL):
        # 缩减规模的运行（d2l.full_scale 为 False）：输出第一行说明了缩减的规模，只训练 1 个迭代周期
        assert row['迭代周期'] == '1', row
        # 缩减运行也必须真的在学：损失有限
        assert float(row['损失']) == float(row['损失']) and float(row['损失']) < 10, row
    else:
        # 完整规模（GPU 上，或 D2L_SCALE=full）：笔记的 10 个迭代周期，测试精度达到校准过的下限
        assert REDUCED_LABEL not in stdout, row
        assert row['迭代周期'] == '10', (
            f'{name}: 输出第一行没有以“{REDUCED_LABEL}”开头，却不是完整规模的 10 个迭代周期'
            f'（是旧的输出吗？用 make execute NB=chapters/ch06_modern-cnn/{name} 重新执行）：{row}')
        assert test_acc >= FULL_SCALE_MIN_TEST_ACC[section], row


if __name__ == '__main__':
    print(markdown_table(expected_rows()))
    print()
    print(markdown_table(expected_stats_rows(), STATS_HEADER))
