"""测试的公共设置：nbval 内核的环境、gpu 单元的门控、遗留文件检查。"""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_addoption(parser):
    parser.addoption('--skip-gpu-cells', action='store_true', default=False,
                     help='nbval 跳过标签为 gpu 的单元（默认运行它们：没有 GPU 时它们自己缩减规模）')


def pytest_configure(config):
    # nbval 启动的内核继承这些环境变量（与 tools/execute.py 相同）
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tools.execute import prepare_kernel_env
    prepare_kernel_env()
    config._untracked_before = _untracked()


def cell_tags(item):
    cell = getattr(item, 'cell', None)
    if cell is None:
        return []
    return list(cell.get('metadata', {}).get('tags', []))


def pytest_collection_modifyitems(config, items):
    if not config.getoption('--skip-gpu-cells'):
        return
    skip = pytest.mark.skip(reason='gpu 单元（--skip-gpu-cells）')
    for item in items:
        if 'gpu' in cell_tags(item):
            item.add_marker(skip)


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
