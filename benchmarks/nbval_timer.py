"""pytest 插件（``-p benchmarks.nbval_timer``）：按笔记本的版本累计每个单元的 setup + call + teardown 用时。

内核在第一个单元的 setup 中启动、在最后一个单元的 teardown 中关闭，所以每个笔记本的总和
包括内核的启动与关闭。结果以 JSON 写到环境变量 ``D2L_BENCH_NBVAL_JSON`` 指定的文件。
"""
import json
import os
from collections import defaultdict

_times = defaultdict(float)
_cells = defaultdict(set)
_failed = defaultdict(int)
_skipped = defaultdict(int)


def pytest_runtest_logreport(report):
    path = report.nodeid.rsplit('::', 1)[0]  # 笔记本::版本
    _times[path] += report.duration
    _cells[path].add(report.nodeid)
    if report.failed:
        _failed[path] += 1
    elif report.skipped and report.when == 'setup':
        _skipped[path] += 1


def pytest_sessionfinish(session, exitstatus):
    out = os.environ.get('D2L_BENCH_NBVAL_JSON')
    if not out:
        return
    data = {p: {'seconds': t, 'cells': len(_cells[p]), 'failed': _failed[p], 'skipped': _skipped[p]}
            for p, t in _times.items()}
    with open(out, 'w', encoding='utf-8') as f:
        json.dump({'notebooks': data, 'exitstatus': int(exitstatus)}, f, ensure_ascii=False, indent=1)
