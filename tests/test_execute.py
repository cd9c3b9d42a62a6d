"""执行命令（tools/execute.py）：版本、来源、规模、原子写回、中断、失败时不动原笔记本。

每个测试在临时目录里造一个小笔记本（不导入 MXNet/PyTorch），执行命令在真实的内核中运行它；
执行失败的副本写到临时的 D2L_FAILED_DIR。测试不碰仓库里的任何文件。
"""
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from book import ROOT
from tools import editions, execute

EXECUTE = [sys.executable, str(ROOT / 'tools' / 'execute.py')]


def make_nb(path, *cells):
    """cells：(类型, 源代码, 标签) 或源代码字符串（代码单元）。"""
    nb = nbformat.v4.new_notebook()
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    for c in cells:
        kind, src, tags = ('code', c, []) if isinstance(c, str) else c
        cell = nbformat.v4.new_code_cell(src) if kind == 'code' else nbformat.v4.new_markdown_cell(src)
        if tags:
            cell.metadata['tags'] = list(tags)
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


@pytest.fixture(autouse=True)
def failed_dir(tmp_path, monkeypatch):
    d = tmp_path / 'failed'
    monkeypatch.setenv('D2L_FAILED_DIR', str(d))
    monkeypatch.delenv('D2L_SCALE', raising=False)
    return d


def test_bilingual_notebook_runs_each_edition_in_its_own_kernel(tmp_path):
    path = make_nb(tmp_path / 'nb.ipynb',
                   ('markdown', '# 9.9 测试', []),
                   'import os\nshared = 41',
                   ('code', 'fw = "mxnet"\nprint(fw, os.getpid())', ['mxnet']),
                   ('code', 'fw = "pytorch"\nx = 1\nprint(fw, os.getpid())', ['pytorch']),
                   'print(shared + 1)')
    times = execute.execute(path, timeout=60, report=lambda *a: None)
    assert set(times) == {'mxnet', 'pytorch'}
    nb = nbformat.read(path, as_version=4)
    mx_out, pt_out = (c.outputs[0]['text'].split() for c in nb.cells[2:4])
    assert mx_out[0] == 'mxnet' and pt_out[0] == 'pytorch'
    assert mx_out[1] != pt_out[1], '两个版本应各在自己的内核里运行'
    assert nb.cells[4].outputs[0]['text'] == '42\n'
    # 每个版本都是从头到尾执行的：序号连续
    for e in ('mxnet', 'pytorch'):
        counts = [c.execution_count for c in editions.extract(nb, e).cells if c.cell_type == 'code']
        assert counts == [1, 2, 3]
        prov = editions.provenance(nb, e)
        assert prov['code_sha256'] == editions.code_hash(nb, e)
        assert prov['device_kind'] == 'cpu' and prov['python'] == '.'.join(map(str, sys.version_info[:3]))
        assert prov['scale'] is None and prov['cells'] == {}


def test_shared_cell_that_prints_differently_must_be_split(tmp_path):
    path = make_nb(tmp_path / 'nb.ipynb',
                   ('code', 'fw = "mxnet"', ['mxnet']),
                   ('code', 'fw = "pytorch"', ['pytorch']),
                   'print(fw)')
    before = path.read_bytes()
    with pytest.raises(execute.ExecutionFailed, match='应拆成带 mxnet/pytorch 标签'):
        execute.execute(path, timeout=60)
    assert path.read_bytes() == before


def test_stale_outputs_are_detected_by_the_code_hash(tmp_path):
    path = make_nb(tmp_path / 'nb.ipynb', 'lr = 0.1\nprint(lr)')
    execute.execute(path, timeout=60)
    nb = nbformat.read(path, as_version=4)
    prov = editions.provenance(nb, 'python')
    assert prov['code_sha256'] == editions.code_hash(nb, 'python')
    nb.cells[0].source = 'lr = 0.2\nprint(lr)'  # 改代码，不重新执行
    assert prov['code_sha256'] != editions.code_hash(nb, 'python')


def test_failed_cell_leaves_the_notebook_untouched_and_reports_the_real_error(tmp_path, failed_dir):
    path = make_nb(tmp_path / 'nb.ipynb', 'print("before")', '1 / 1', 'print("after")')
    execute.execute(path, timeout=60)  # 先有一份完整的输出
    path.write_text(path.read_text().replace('1 / 1', '1 / 0'))
    before = path.read_bytes()
    r = subprocess.run(EXECUTE + [str(path)], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, D2L_FAILED_DIR=str(failed_dir)))
    assert r.returncode == 1
    assert path.read_bytes() == before, '失败的运行不应改动原笔记本'
    assert 'ZeroDivisionError' in r.stdout
    assert '\x1b[' not in r.stdout, '报告里不应有终端颜色代码'
    copy = failed_dir / 'nb.python.ipynb'
    assert str(copy) in r.stdout and copy.exists()
    done = nbformat.read(copy, as_version=4)
    assert done.cells[0].outputs[0]['text'] == 'before\n'
    assert any(o.get('output_type') == 'error' for o in done.cells[1].outputs)


def test_read_only_checkout_still_reports_the_cell_error(tmp_path, monkeypatch):
    path = make_nb(tmp_path / 'nb.ipynb', '1 / 0')

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, '只读', str(path))
    monkeypatch.setattr(execute, 'atomic_write', refuse)
    with pytest.raises(execute.ExecutionFailed) as info:
        execute.execute(path, timeout=60)
    assert 'ZeroDivisionError' in str(info.value)
    assert '副本也没能保存' in str(info.value)


def test_disk_full_during_write_back_keeps_the_old_notebook(tmp_path, monkeypatch):
    path = make_nb(tmp_path / 'nb.ipynb', 'print(1)')
    before = path.read_bytes()
    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(os, 'fsync', full)
    with pytest.raises(OSError, match='No space left'):
        execute.execute(path, timeout=60)
    monkeypatch.setattr(os, 'fsync', real_fsync)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ['failed', 'nb.ipynb'] or \
        sorted(p.name for p in tmp_path.iterdir()) == ['nb.ipynb'], '不应留下临时文件'
    json.loads(path.read_text())


def test_atomic_write_on_a_really_full_filesystem(tmp_path):
    """能挂载小 tmpfs 时（root、允许 mount），在真的写满的文件系统上验证；否则跳过（上一个测试用替换的 fsync）。"""
    mnt = tmp_path / 'tiny'
    mnt.mkdir()
    if subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip('这里不能挂载 tmpfs')
    try:
        path = make_nb(mnt / 'nb.ipynb', 'print(1)')
        before = path.read_bytes()
        (mnt / 'filler').write_bytes(b'\0' * (64 * 1024 - len(before) - 4096))
        nb = nbformat.read(path, as_version=4)
        nb.cells[0].source = 'x' * 200_000
        with pytest.raises(OSError):
            execute.atomic_write(nb, path)
        assert path.read_bytes() == before
        assert sorted(p.name for p in mnt.iterdir()) == ['filler', 'nb.ipynb']
    finally:
        subprocess.run(['umount', str(mnt)], check=False)


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM], ids=['SIGINT', 'SIGTERM'])
def test_interrupt_stops_the_whole_batch(tmp_path, sig, failed_dir):
    pidfile, marker = tmp_path / 'kernel.pid', tmp_path / 'second-ran'
    first = make_nb(tmp_path / 'a.ipynb',
                    f'import os, time\nopen({str(pidfile)!r}, "w").write(str(os.getpid()))\ntime.sleep(60)')
    second = make_nb(tmp_path / 'b.ipynb', f'open({str(marker)!r}, "w").write("ran")')
    before = first.read_bytes()
    proc = subprocess.Popen(EXECUTE + [str(first), str(second)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, D2L_FAILED_DIR=str(failed_dir)))
    deadline = time.time() + 60
    while not pidfile.exists() or not pidfile.read_text():
        assert time.time() < deadline and proc.poll() is None, '内核没有开始执行'
        time.sleep(0.1)
    kernel_pid = int(pidfile.read_text())
    proc.send_signal(sig)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    assert '中断' in out and 'AssertionError' not in out, out
    assert first.read_bytes() == before
    assert not marker.exists(), '中断后不应继续执行下一个笔记本'
    time.sleep(0.5)
    assert not Path(f'/proc/{kernel_pid}').exists(), '内核进程应已结束并被回收'


GPU_NB = ('import utils.common as d2l\n'
          'if not d2l.full_scale(None):\n'
          '    print("缩减规模：只训练 1 个迭代周期")\n'
          'print("done")')


def test_scale_is_recorded_and_full_outputs_are_not_replaced_by_reduced(tmp_path):
    path = make_nb(tmp_path / 'nb.ipynb', ('code', GPU_NB, ['gpu']))
    execute.execute(path, timeout=60, scale='full')
    nb = nbformat.read(path, as_version=4)
    prov = editions.provenance(nb, 'python')
    cid = nb.cells[0].id
    assert prov['scale'] == 'full' and prov['cells'] == {cid: 'full'}
    assert nb.cells[0].outputs[0]['text'] == 'done\n'
    stored = path.read_bytes()
    for scale in ('reduced', 'auto'):  # 这台机器上 auto 也是缩减规模（没有 GPU）
        with pytest.raises(execute.ExecutionFailed, match='完整规模'):
            execute.execute(path, timeout=60, scale=scale)
        assert path.read_bytes() == stored
    execute.execute(path, timeout=60, scale='reduced', allow_reduced=True)
    nb = nbformat.read(path, as_version=4)
    assert editions.provenance(nb, 'python')['cells'] == {cid: 'reduced'}
    assert nb.cells[0].outputs[0]['text'].startswith('缩减规模')


def test_gpu_cell_must_decide_its_scale_exactly_once(tmp_path):
    path = make_nb(tmp_path / 'nb.ipynb', ('code', 'print("no switch")', ['gpu']))
    with pytest.raises(execute.ExecutionFailed, match='恰好调用一次'):
        execute.execute(path, timeout=60)


def test_kernel_uses_inline_backend_even_if_caller_sets_agg(tmp_path, monkeypatch):
    monkeypatch.setenv('MPLBACKEND', 'Agg')
    path = make_nb(tmp_path / 'nb.ipynb',
                   'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()')
    execute.execute(path, timeout=60)
    nb = nbformat.read(path, as_version=4)
    assert any('image/png' in o.get('data', {}) for o in nb.cells[0].outputs)
