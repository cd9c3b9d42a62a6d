"""第 6 章的结果表：chapters/ch06_modern-cnn/index.md 中的表格必须与各笔记本存储的训练输出一致。

表格的每一行来自一个训练单元（输出中含 ``examples/sec on`` 的代码单元）：
设置（批量大小、图像大小、学习率）取自单元的源代码，迭代周期取自输出中最后一行 ``epoch N, ...``，
损失、精度取自 ``train_ch6`` 打印的最后一行 ``loss …, train acc …, test acc …``，
速度和设备取自 ``… examples/sec on …``。

    python tests/test_ch6_results.py   # 打印应写入 index.md 的表格行
"""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CH6 = ROOT / 'chapters' / 'ch06_modern-cnn'
INDEX = CH6 / 'index.md'
HEADER = ['模型', '节', '批量大小', '图像大小', '学习率', '迭代周期', '损失', '训练精度', '测试精度', '样本/秒', '设备']

# (模型, 节, 笔记本, 该笔记本中第几个训练单元)
MODELS = [
    ('AlexNet', '6.1', '6.1_alexnet.ipynb', 0),
    ('VGG-11（通道数 ÷4）', '6.2', '6.2_vgg.ipynb', 0),
    ('NiN', '6.3', '6.3_nin.ipynb', 0),
    ('GoogLeNet', '6.4', '6.4_googlenet.ipynb', 0),
    ('BN-LeNet（从零实现）', '6.5', '6.5_batch-norm.ipynb', 0),
    ('BN-LeNet（简明实现）', '6.5', '6.5_batch-norm.ipynb', 1),
    ('ResNet-18', '6.6', '6.6_resnet.ipynb', 0),
    ('DenseNet', '6.7', '6.7_densenet.ipynb', 0),
]

# 完整规模（在 GPU 上）应达到的测试精度
FULL_SCALE_MIN_TEST_ACC = {
    '6.1': 0.85, '6.2': 0.88, '6.3': 0.80, '6.4': 0.85, '6.5': 0.80, '6.6': 0.90, '6.7': 0.78,
}

FINAL_RE = re.compile(r'^loss (\S+), train acc (\S+), test acc (\S+)$', re.M)
EPOCH_RE = re.compile(r'^epoch (\d+), loss ', re.M)
SPEED_RE = re.compile(r'^(\S+) examples/sec on (\S+)$', re.M)
SETTINGS_RE = re.compile(r'^lr, num_epochs, batch_size = (\S+), (\S+), (\S+)$', re.M)
RESIZE_RE = re.compile(r'resize=(\d+)')


def _text(x):
    return ''.join(x) if isinstance(x, list) else (x or '')


def training_cells(path):
    """笔记本中的训练单元：(源代码, 全部 stdout 文本)，按出现的顺序。"""
    nb = json.loads(Path(path).read_text(encoding='utf-8'))
    out = []
    for c in nb['cells']:
        if c['cell_type'] != 'code':
            continue
        stdout = ''.join(_text(o.get('text')) for o in c.get('outputs', [])
                         if o.get('output_type') == 'stream' and o.get('name') == 'stdout')
        if 'examples/sec on' in stdout:
            out.append((_text(c['source']), stdout))
    return out


def settings_source(path, index):
    """训练单元所用的设置：本单元或它之前最近的一个 ``lr, num_epochs, batch_size = …``。"""
    nb = json.loads(Path(path).read_text(encoding='utf-8'))
    found, last = -1, None
    for c in nb['cells']:
        if c['cell_type'] != 'code':
            continue
        src = _text(c['source'])
        m = SETTINGS_RE.search(src)
        if m:
            last = (m, RESIZE_RE.search(src))
        stdout = ''.join(_text(o.get('text')) for o in c.get('outputs', []) if o.get('output_type') == 'stream')
        if 'examples/sec on' in stdout:
            found += 1
            if found == index:
                return last
    raise AssertionError(f'{path.name}: 没有第 {index + 1} 个训练单元')


def row_from_notebook(model, section, name, index):
    path = CH6 / name
    cells = training_cells(path)
    assert len(cells) > index, f'{name}: 找不到第 {index + 1} 个训练单元的输出（需要先执行笔记本）'
    _, stdout = cells[index]
    (m_set, m_resize) = settings_source(path, index)
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


def table_rows(text):
    """index.md 中结果表的表头和各行（去掉首尾的竖线，按竖线分列）。"""
    lines = [l.strip() for l in text.splitlines()]
    start = next(i for i, l in enumerate(lines) if l.startswith('|') and '模型' in l and '测试精度' in l)
    rows = []
    for l in lines[start:]:
        if not l.startswith('|'):
            break
        rows.append([c.strip() for c in l.strip('|').split('|')])
    header, sep, body = rows[0], rows[1], rows[2:]
    assert all(set(c) <= set(':-') for c in sep), sep
    return header, body


def markdown_table(rows):
    lines = ['| ' + ' | '.join(HEADER) + ' |', '|' + '|'.join(['---'] * len(HEADER)) + '|']
    lines += ['| ' + ' | '.join(r) + ' |' for r in rows]
    return '\n'.join(lines)


def test_index_table_matches_stored_outputs():
    header, body = table_rows(INDEX.read_text(encoding='utf-8'))
    assert header == HEADER
    expected = expected_rows()
    assert body == expected, ('index.md 的结果表与笔记本存储的输出不一致，应为：\n' + markdown_table(expected))


def test_index_says_cpu_rows_are_reduced():
    text = INDEX.read_text(encoding='utf-8')
    table_start = text.index('| 模型 |')
    assert '缩减' in text[:table_start] and 'cpu' in text[:table_start]


@pytest.mark.parametrize('model,section,name,index', MODELS, ids=[m[0] for m in MODELS])
def test_accuracy_thresholds(model, section, name, index):
    row = dict(zip(HEADER, row_from_notebook(model, section, name, index)))
    test_acc = float(row['测试精度'])
    if section == '6.5' and index == 1:
        # 简明实现的 BN-LeNet 在 CPU 上也按完整规模训练
        assert row['迭代周期'] == '10' and row['批量大小'] == '256'
        assert test_acc >= FULL_SCALE_MIN_TEST_ACC['6.5'], row
    elif row['设备'].startswith(('cuda', 'gpu')):
        assert row['迭代周期'] == '10', row
        assert test_acc >= FULL_SCALE_MIN_TEST_ACC[section], row
    else:
        # 没有 GPU 时的缩减运行：输出中说明了缩减的规模
        _, stdout = training_cells(CH6 / name)[index]
        assert '未检测到 GPU' in stdout and row['迭代周期'] == '1', row
        # 缩减运行也必须真的在学：损失有限
        assert float(row['损失']) == float(row['损失']) and float(row['损失']) < 10, row


if __name__ == '__main__':
    print(markdown_table(expected_rows()))
