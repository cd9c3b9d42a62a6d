"""一个笔记本，两个版本：把小节的笔记本按框架拆成可以单独运行的“版本”（edition）。

第 1～5 章和 6.5 节的笔记本同时含有 MXNet（笔记的框架）和 PyTorch 的代码：

- 与框架有关的单元带单元标签 ``mxnet`` 或 ``pytorch``；相邻的带标签单元组成一组
  （先是 MXNet 的单元，后是 PyTorch 的单元），网站上显示为一个带 ``MXNet | PyTorch`` 切换的代码块；
- 不带这两个标签的单元（全部 Markdown 说明和与框架无关的代码）两个版本共用，只写一次。
  共用的代码单元在两个版本中的输出必须相同（执行命令会核对），存储的是默认版本的输出；
  它在其他版本中的执行序号记在单元元数据 ``d2l.execution_count[版本]`` 中。

某个版本 = 全部不带框架标签的单元 + 带该框架标签的单元，按原来的顺序。执行命令
（``tools/execute.py``）、nbval（``tests/conftest.py``）、网站的下载（``tools/sphinx_editions.py``）
和 ``make lab`` 都用这里的函数拆分，所以它们看到的是同一个版本。

没有框架标签的笔记本（第 6 章除 6.5 以外的各节）只有一个版本，框架由它导入的
``utils`` 模块决定（``from utils import torch as d2l`` → ``pytorch``）。

每个版本的输出来源记录在笔记本元数据 ``metadata.d2l.provenance[版本]`` 中（见 ``tools/execute.py``）。
"""
import copy
import hashlib
import re

FRAMEWORKS = ('mxnet', 'pytorch')
LABELS = {'mxnet': 'MXNet', 'pytorch': 'PyTorch'}
# utils 中与各版本对应的模块
UTILS_MODULE = {'mxnet': 'mxnet', 'pytorch': 'torch'}
_IMPORT = re.compile(r'from utils import (mxnet|torch) as d2l')


def source(cell):
    s = cell.get('source', '')
    return ''.join(s) if isinstance(s, list) else s


def tags(cell):
    return list(cell.get('metadata', {}).get('tags', []))


def cell_framework(cell):
    """单元属于哪个框架（``mxnet`` / ``pytorch``），两个版本共用的单元返回 None。"""
    found = [t for t in tags(cell) if t in FRAMEWORKS]
    if len(found) > 1:
        raise ValueError(f'一个单元只能属于一个框架，这里有 {found}：{source(cell)[:60]!r}')
    return found[0] if found else None


def editions(nb):
    """笔记本的版本，默认版本（笔记的框架）在前。"""
    present = {cell_framework(c) for c in nb['cells']} - {None}
    if present:
        return [f for f in FRAMEWORKS if f in present]
    code = '\n'.join(source(c) for c in nb['cells'] if c['cell_type'] == 'code')
    m = _IMPORT.search(code)
    if m:
        return ['pytorch' if m.group(1) == 'torch' else 'mxnet']
    return ['python']


def default_edition(nb):
    return editions(nb)[0]


def is_bilingual(nb):
    return len(editions(nb)) > 1


def edition_indices(nb, edition):
    """属于该版本的单元在笔记本中的下标。"""
    return [i for i, c in enumerate(nb['cells']) if cell_framework(c) in (None, edition)]


def groups(nb):
    """相邻的带框架标签的单元组成的组：每组是 [(下标, 框架), ...]。"""
    out, run = [], []
    for i, c in enumerate(nb['cells']):
        fw = cell_framework(c)
        if fw is None:
            if run:
                out.append(run)
            run = []
        else:
            run.append((i, fw))
    if run:
        out.append(run)
    return out


def code_hash(nb, edition):
    """该版本全部代码单元源代码的 SHA-256：源代码一变，存储的输出就过时了。"""
    h = hashlib.sha256()
    for i in edition_indices(nb, edition):
        c = nb['cells'][i]
        if c['cell_type'] == 'code':
            h.update(source(c).encode('utf-8'))
            h.update(b'\x00')
    return h.hexdigest()


def provenance(nb, edition=None):
    """存储在笔记本中的输出来源：不给 edition 时返回 {版本: 记录}。"""
    prov = nb.get('metadata', {}).get('d2l', {}).get('provenance', {})
    return prov if edition is None else prov.get(edition)


def extract(nb, edition):
    """该版本单独成为一个笔记本（深拷贝）：框架标签去掉，元数据只留这个版本的来源。"""
    out = copy.deepcopy(dict(nb))
    cells = []
    for i in edition_indices(nb, edition):
        c = copy.deepcopy(nb['cells'][i])
        md = c.setdefault('metadata', {})
        # 共用的单元存的是默认版本运行时的执行序号；其他版本运行时的序号记在单元元数据里
        counts = md.pop('d2l', {}).get('execution_count', {})
        if c['cell_type'] == 'code' and edition in counts:
            c['execution_count'] = counts[edition]
        if 'tags' in md:
            md['tags'] = [t for t in md['tags'] if t not in FRAMEWORKS]
            if not md['tags']:
                del md['tags']
        cells.append(c)
    out['cells'] = cells
    d2l = out.setdefault('metadata', {}).setdefault('d2l', {})
    d2l['edition'] = edition
    prov = provenance(nb, edition)
    if prov is not None:
        d2l['provenance'] = {edition: prov}
    else:
        d2l.pop('provenance', None)
    try:  # 输入是 NotebookNode 时返回 NotebookNode
        import nbformat
        return nbformat.from_dict(out)
    except ImportError:  # pragma: no cover
        return out
