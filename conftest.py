"""测试的公共设置：nbval 按版本执行笔记本、内核的环境、gpu 单元的门控、遗留文件检查。

nbval 本身把一个 .ipynb 当作一个笔记本运行；本书的双框架笔记本要拆成两个版本，各在自己的
全新内核中运行（``tools/editions.py``）。所以这里接管笔记本的收集：每个笔记本的每个版本是一个
nbval 的 ``IPyNbFile``（测试 id 形如 ``chapters/.../2.2.3_softmax-regression-scratch.ipynb::pytorch::Cell 5``），
行为与 ``--nbval-lax`` 相同：只比较标记为 ``nbval-check-output`` 的单元。
"""
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools import editions as ed  # noqa: E402


def pytest_addoption(parser):
    parser.addoption('--skip-gpu-cells', action='store_true', default=False,
                     help='nbval 跳过标签为 gpu 的单元（默认运行它们，CI 中按缩减规模运行）')
    parser.addoption('--edition', action='append', choices=list(ed.FRAMEWORKS) + ['python'],
                     help='只验证笔记本的这个版本（可重复）；默认验证全部版本')


def pytest_configure(config):
    # 本进程里的 matplotlib 不显示任何东西；nbval 启动的内核用 inline 后端（kernel_env 显式设置）
    import matplotlib
    matplotlib.use('Agg')
    from tools.execute import prepare_kernel_env
    # CI 中 gpu 单元按缩减规模运行；要验证完整规模时在环境里设置 D2L_SCALE=full
    prepare_kernel_env(scale=os.environ.get('D2L_SCALE', 'reduced'))
    if hasattr(config, 'workerinput'):
        # pytest-xdist 的工作进程：每个核一个内核，每个内核一个计算线程。几个内核各开多个 OpenMP 线程
        # 抢同样的核时，小张量的运算会慢一个数量级（线程互相等待）
        os.environ.setdefault('OMP_NUM_THREADS', '1')
    config._untracked_before = _untracked()
    if _nbval_active(config):  # 笔记本只由下面的收集器收集（否则 --nbval/--nbval-lax 会再收集一遍整个笔记本）
        config.option.nbval = config.option.nbval_lax = False


# ------------------------------------------------------------ 按版本收集笔记本
def _nbval_active(config):
    return config.pluginmanager.has_plugin('nbval')


def pytest_collect_file(file_path, parent):
    if file_path.suffix != '.ipynb' or '.ipynb_checkpoints' in file_path.parts:
        return None
    if not _nbval_active(parent.config):
        return None
    return NotebookEditions.from_parent(parent, path=file_path)


class NotebookEditions(pytest.File):
    """一个笔记本：每个版本一个子收集器。"""

    def collect(self):
        import nbformat
        nb = nbformat.read(str(self.path), as_version=4)
        wanted = self.config.getoption('--edition')
        for edition in ed.editions(nb):
            if wanted and edition not in wanted:
                continue
            yield EditionFile.from_parent(self, name=edition, path=self.path,
                                          nodeid=f'{self.nodeid}::{edition}', edition=edition,
                                          notebook=nb)


def _edition_file_class():
    from nbval.plugin import IPyNbCell, IPyNbFile, find_comment_markers, find_metadata_tags

    class EditionFile(IPyNbFile):
        """一个版本：nbval 的 IPyNbFile，但单元来自 tools.editions.extract。"""

        def __init__(self, *args, edition, notebook, **kwargs):
            super().__init__(*args, **kwargs)
            self.edition, self._source_nb = edition, notebook
            self.compare_outputs = False  # 与 --nbval-lax 相同

        def collect(self):
            self.nb = ed.extract(self._source_nb, self.edition)
            cell_num = 0
            for cell in self.nb.cells:
                if cell.cell_type != 'code':
                    continue
                options = defaultdict(bool, find_metadata_tags(cell.metadata))
                options.update(dict(find_comment_markers(cell.source)))
                options.setdefault('check', self.compare_outputs)
                yield IPyNbCell.from_parent(self, name=f'Cell {cell_num}', cell_num=cell_num,
                                            cell=cell, options=options)
                cell_num += 1

    return EditionFile


class _LazyEditionFile:
    """nbval 只在它启用时才导入（make unit 用 -p no:nbval）。"""
    cls = None

    def from_parent(self, *args, **kwargs):
        if self.cls is None:
            self.cls = _edition_file_class()
        return self.cls.from_parent(*args, **kwargs)


EditionFile = _LazyEditionFile()


# ------------------------------------------------------------ gpu 单元的门控
def cell_tags(item):
    cell = getattr(item, 'cell', None)
    if cell is None:
        return []
    return list(cell.get('metadata', {}).get('tags', []))


def _edition_seconds(item):
    """笔记本版本上次执行的用时（来源记录），用来先安排慢的版本；不是笔记本时为 None。"""
    parent = getattr(item, 'parent', None)
    source = getattr(parent, '_source_nb', None)
    if source is None:
        return None
    prov = ed.provenance(source, parent.edition) or {}
    return float(prov.get('seconds') or 0)


def pytest_collection_modifyitems(config, items):
    # 并行（pytest-xdist --dist loadscope）时，每个笔记本版本整个交给一个工作进程，按收集的顺序分配：
    # 把上次执行最慢的版本排在前面，最后不会只剩一个工作进程在跑一个慢笔记本。单元测试排在笔记本之后。
    order = {}
    for i, item in enumerate(items):
        scope = item.nodeid.rsplit('::', 1)[0]
        seconds = _edition_seconds(item)
        order.setdefault(scope, (0, -seconds, i) if seconds is not None else (1, 0, i))
    items.sort(key=lambda it: order[it.nodeid.rsplit('::', 1)[0]])
    if not config.getoption('--skip-gpu-cells'):
        return
    skip = pytest.mark.skip(reason='gpu 单元（--skip-gpu-cells）')
    for item in items:
        if 'gpu' in cell_tags(item):
            item.add_marker(skip)


# ------------------------------------------------------------ 遗留文件
def _untracked():
    try:
        out = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=all'],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return {line[3:] for line in out.splitlines() if line.startswith('??')}


def pytest_sessionfinish(session, exitstatus):
    """笔记本和测试都不应在仓库里留下文件（例如 1.2 节的 CSV 应写进临时目录）。"""
    before = getattr(session.config, '_untracked_before', None)
    after = _untracked()
    if before is None or after is None:
        return
    new = sorted(after - before)
    if new:
        session.config._stray_files = new
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    new = getattr(config, '_stray_files', None)
    if new:
        terminalreporter.section('遗留文件', sep='=', red=True)
        terminalreporter.write_line('测试运行后仓库里多出了未跟踪的文件（笔记本应写入临时目录）：')
        for f in new:
            terminalreporter.write_line('  ' + f)
