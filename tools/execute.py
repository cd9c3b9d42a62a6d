"""执行笔记本：每个版本在自己的全新内核里从头到尾运行，输出和来源写回笔记本。

    python tools/execute.py chapters/ch01_preliminaries/1.1_ndarray.ipynb [...]
    make execute NB="chapters/ch06_modern-cnn/*.ipynb" [FW=pytorch] [SCALE=full]

维护者刷新存储的输出用的就是这条命令。

- **版本**：双框架的笔记本（见 ``tools/editions.py``）拆成 MXNet 版和 PyTorch 版，各在一个全新内核中运行；
  ``--framework`` 只运行其中一个版本。共用单元在两个版本中的输出必须相同。
- **规模**：标签为 ``gpu`` 的慢单元由 ``d2l.full_scale()`` 决定规模；``--scale`` 通过环境变量
  ``D2L_SCALE`` 传给内核：``auto``（默认，有 GPU 时完整规模）、``full``（在 CPU 上也完整运行）、``reduced``。
  已存储完整规模输出的单元不会被缩减规模的输出替换，除非给出 ``--allow-reduced``。
- **来源**：每个版本的来源写进 ``metadata.d2l.provenance[版本]``：代码单元的哈希、导入的 ``utils`` 模块的哈希、
  设备、框架和 Python 版本、日期、用时、每个 ``gpu`` 单元的规模。测试据此发现过时的输出。
- **可靠**：只有全部版本都成功时才写回，写回是原子的（同目录的临时文件，再改名）；单元出错时
  原笔记本不变，执行到一半的副本存到 ``_build/failed/``，并报告真正的错误；Ctrl-C 或 SIGTERM
  停止整个运行（退出码 130），当前笔记本保持原样。
- **环境**：内核的工作目录是笔记本所在目录（与 nbval 相同），仓库根目录在 PYTHONPATH 上；内核总是用
  inline 后端（``MPLBACKEND`` 被显式设为 inline，调用者环境里的 ``Agg`` 不会让图消失）。
"""
import argparse
import copy
import datetime
import hashlib
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools import editions as ed  # noqa: E402

INLINE_BACKEND = 'module://matplotlib_inline.backend_inline'
SCALE_ENV = 'D2L_SCALE'
REDUCED_LABEL = '缩减规模'
FAILED_DIR = Path(os.environ.get('D2L_FAILED_DIR') or ROOT / '_build' / 'failed')  # 被 git 忽略
_PROBE_MARK = '__D2L_PROVENANCE__'
_ANSI = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')

# 在内核里最后运行的探针：报告导入了哪些 utils 模块、版本、实际用到的设备、full_scale 的决定
_PROBE = r'''
def __d2l_probe():
    import json, os, platform, sys
    mods = sorted(m for m in list(sys.modules) if m == 'utils' or m.startswith('utils.'))
    info = {'utils_files': {m: getattr(sys.modules[m], '__file__', None) for m in mods},
            'python': platform.python_version()}
    for name in ('numpy', 'mxnet', 'torch'):
        mod = sys.modules.get(name)
        info[name] = getattr(mod, '__version__', None) if mod is not None else None
    gpu = None
    torch = sys.modules.get('torch')
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        gpu = torch.cuda.get_device_name(torch.cuda.current_device())
    info['gpu'] = gpu
    info['threads'] = torch.get_num_threads() if torch is not None else os.environ.get('OMP_NUM_THREADS')
    common = sys.modules.get('utils.common')
    info['scale_decisions'] = list(getattr(common, '_scale_decisions', [])) if common else []
    print('%s' + json.dumps(info))
__d2l_probe()
del __d2l_probe
''' % _PROBE_MARK


class ExecutionFailed(Exception):
    """一个版本没能从头到尾运行成功（或不允许写回）。"""


class Interrupted(BaseException):
    """收到 SIGINT/SIGTERM。"""


def kernel_env(scale=None, base=None):
    """内核的环境变量：仓库根目录在 PYTHONPATH 上、inline 绘图后端、不显示进度条；scale 给出时设置 D2L_SCALE。

    tools/execute.py 和 tests/conftest.py（nbval）都用这个函数，两种执行方式看到同样的环境。
    """
    env = dict(os.environ if base is None else base)
    paths = [str(ROOT)] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p]
    env['PYTHONPATH'] = os.pathsep.join(dict.fromkeys(paths))
    env['MPLBACKEND'] = INLINE_BACKEND  # 不是 Agg：Agg 下 plot/show_images/plt.show 什么也不显示
    env.setdefault('TQDM_DISABLE', '1')
    if scale is not None:
        env[SCALE_ENV] = scale
    return env


def prepare_kernel_env(scale=None):
    """把 kernel_env() 写进本进程的环境（nbval 启动的内核继承它）。"""
    os.environ.update(kernel_env(scale))


# ------------------------------------------------------------ 设备与来源
def _cpu_name():
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _utils_hash(files):
    h = hashlib.sha256()
    for mod in sorted(files):
        path = files[mod]
        h.update(mod.encode())
        h.update(b'\x00')
        if path:
            h.update(Path(path).read_bytes())
        h.update(b'\x00')
    return h.hexdigest()


def _gpu_available(edition):
    """这个版本的框架能用 GPU 吗（在子进程里问，不把框架导入本进程）。"""
    code = {'pytorch': 'import torch; print(torch.cuda.is_available())',
            'mxnet': 'import mxnet; print(mxnet.context.num_gpus() > 0)'}.get(edition)
    if code is None:
        return False
    try:
        out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                             timeout=120, env=kernel_env()).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return False
    return out.endswith('True')


def scale_cells(nb_edition):
    """版本中决定规模的单元（标签 gpu）的 id，按顺序。"""
    return [c.get('id') for c in nb_edition.cells if c.cell_type == 'code' and 'gpu' in ed.tags(c)]


# ------------------------------------------------------------ 比较共用单元的输出
def _comparable(outputs):
    out = []
    for o in outputs:
        o = dict(o)
        o.pop('execution_count', None)
        o.pop('metadata', None)
        if 'text' in o:
            o['text'] = ''.join(o['text']) if isinstance(o['text'], list) else o['text']
        if 'data' in o:
            o['data'] = {k: (''.join(v) if isinstance(v, list) else v) for k, v in o['data'].items()}
        out.append(o)
    # 流输出可能被拆成几段
    merged = []
    for o in out:
        if merged and o.get('output_type') == 'stream' and merged[-1].get('output_type') == 'stream' \
                and merged[-1].get('name') == o.get('name'):
            merged[-1] = dict(merged[-1], text=merged[-1]['text'] + o['text'])
        else:
            merged.append(o)
    return merged


def _error_text(exc):
    text = _ANSI.sub('', str(exc))
    return text[-3000:]


# ------------------------------------------------------------ 写回
def atomic_write(nb, path):
    """先写同目录的临时文件、fsync，再改名：写到一半（磁盘满、中断）时原文件不变。"""
    path = Path(path)
    text = nbformat.writes(nb)
    if not text.endswith('\n'):
        text += '\n'
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix='.' + path.name + '.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.chmod(tmp, path.stat().st_mode & 0o777)
        except OSError:
            pass
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _save_failed(nb, path, edition):
    """执行到一半的副本存到 _build/failed/（被 git 忽略）；那里写不进去时存到系统临时目录。"""
    name = f'{Path(path).stem}.{edition}.ipynb'
    failed_dir = Path(os.environ.get('D2L_FAILED_DIR') or FAILED_DIR)
    for d in (failed_dir, Path(tempfile.gettempdir()) / 'd2l-notes-failed'):
        try:
            d.mkdir(parents=True, exist_ok=True)
            atomic_write(nb, d / name)
            return d / name
        except OSError:
            continue
    return None


# ------------------------------------------------------------ 执行一个版本
def _kill_kernel(client):
    """结束内核的整个进程组（内核在自己的会话里启动，终端的 Ctrl-C 到不了它）。"""
    provisioner = getattr(getattr(client, 'km', None), 'provisioner', None)
    pid = getattr(provisioner, 'pid', None)
    if not pid:
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    process = getattr(provisioner, 'process', None)
    if process is not None:  # 回收子进程，不留僵尸
        try:
            process.wait(5)
        except Exception:  # noqa: BLE001
            pass


def _execute_interruptibly(client, env):
    """在工作线程里执行，主线程等待并处理 SIGINT/SIGTERM。

    nbclient 在主线程里会装上自己的信号处理：信号只让内核“死掉”，随后的清理又抛出 AssertionError，
    批处理把它当成普通的执行失败继续下一个笔记本。在工作线程里它不装这些处理，信号由本模块处理：
    结束内核，把 Interrupted 抛给调用者。
    """
    import threading
    outcome = {}

    def work():
        try:
            client.execute(env=env)
        except BaseException as e:  # noqa: BLE001  交给主线程
            outcome['error'] = e

    worker = threading.Thread(target=work, name='nbclient', daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except BaseException:
        _kill_kernel(client)
        worker.join(10)
        import atexit
        atexit.unregister(client._cleanup_kernel)  # 内核已经结束，退出时不必再清理
        raise
    if 'error' in outcome:
        raise outcome['error']


def run_edition(src, path, edition, scale, timeout):
    """在全新内核中运行一个版本，返回 (执行后的版本笔记本, 来源记录)。"""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    nb = ed.extract(src, edition)
    for c in nb.cells:
        if c.cell_type == 'code':
            c.outputs, c.execution_count = [], None
            c.metadata.pop('execution', None)
    probe = nbformat.v4.new_code_cell(_PROBE)
    nb.cells.append(probe)
    client = NotebookClient(nb, timeout=timeout, kernel_name='python3', allow_errors=False,
                            resources={'metadata': {'path': str(path.parent)}})
    start = time.perf_counter()
    try:
        _execute_interruptibly(client, kernel_env(scale))
    except (CellExecutionError, CellTimeoutError, RuntimeError) as e:
        nb.cells.pop()  # 探针
        saved = _save_failed(nb, path, edition)
        where = f'执行到一半的副本：{saved}' if saved else '（执行到一半的副本也没能保存）'
        raise ExecutionFailed(f'{edition} 版出错，原笔记本未改动；{where}\n{_error_text(e)}') from e
    seconds = time.perf_counter() - start
    nb.cells.pop()
    probe_out = ''.join(o.get('text', '') for o in probe.outputs if o.get('output_type') == 'stream')
    m = re.search(re.escape(_PROBE_MARK) + r'(\{.*\})', probe_out)
    if not m:
        raise ExecutionFailed(f'{edition} 版：没有得到来源信息（探针输出：{probe_out[-500:]!r}）')
    info = json.loads(m.group(1))
    for c in nb.cells:
        c.get('metadata', {}).pop('execution', None)

    cells = scale_cells(nb)
    decisions = info['scale_decisions']
    if len(decisions) != len(cells):
        raise ExecutionFailed(
            f'{edition} 版：{len(cells)} 个 gpu 单元，但 d2l.full_scale() 被调用了 {len(decisions)} 次；'
            '每个 gpu 单元应恰好调用一次')
    per_cell = dict(zip(cells, decisions))
    gpu = info.get('gpu')
    framework = {'mxnet': ('MXNet', info.get('mxnet')), 'pytorch': ('PyTorch', info.get('torch'))}.get(edition)
    prov = {
        'code_sha256': ed.code_hash(src, edition),
        'utils_sha256': _utils_hash(info['utils_files']),
        'utils_modules': sorted(info['utils_files']),
        'device': f'GPU：{gpu}' if gpu else f'CPU：{_cpu_name()}（{os.cpu_count()} 核）',
        'device_kind': 'gpu' if gpu else 'cpu',
        'framework': f'{framework[0]} {framework[1]}' if framework and framework[1] else None,
        'python': info['python'],
        'numpy': info.get('numpy'),
        'cpu_threads': info.get('threads'),  # PyTorch 的计算线程数（或 OMP_NUM_THREADS；None 表示框架默认）
        'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'seconds': round(seconds, 1),
        'scale': (None if not decisions else 'reduced' if 'reduced' in decisions else 'full'),
        'cells': per_cell,
        'command': 'tools/execute.py --scale ' + (scale or 'auto'),
    }
    return nb, prov


def merge(src, edition, executed, prov):
    """把一个版本的输出和来源写进源笔记本 src（就地修改）。"""
    default = ed.default_edition(src)
    indices = ed.edition_indices(src, edition)
    assert len(indices) == len(executed.cells)
    for i, done in zip(indices, executed.cells):
        cell = src.cells[i]
        if cell.cell_type != 'code':
            continue
        if ed.cell_framework(cell) == edition or edition == default:
            cell.outputs = done.outputs
            cell.execution_count = done.execution_count
            if ed.cell_framework(cell) is None:
                cell.metadata.get('d2l', {}).pop('execution_count', None)
                if not cell.metadata.get('d2l', {}) and 'd2l' in cell.metadata:
                    del cell.metadata['d2l']
        else:  # 共用单元：输出应与默认版本相同，序号记在元数据里
            if _comparable(done.outputs) != _comparable(cell.outputs):
                raise ExecutionFailed(
                    f'共用单元（第 {i} 个单元，{ed.source(cell)[:50]!r}…）在 {edition} 版中的输出与 '
                    f'{default} 版不同：它与框架有关，应拆成带 mxnet/pytorch 标签的两个单元'
                    '（或者先重新运行两个版本）')
            cell.metadata.setdefault('d2l', {}).setdefault('execution_count', {})[edition] = \
                done.execution_count
    src.metadata.setdefault('d2l', {}).setdefault('provenance', {})[edition] = prov


def check_scale_downgrade(old, new, edition, path):
    """已存储完整规模输出的单元不能被缩减规模的输出替换。"""
    if not old:
        return
    lost = [cid for cid, s in old.get('cells', {}).items() if s == 'full' and new['cells'].get(cid) == 'reduced']
    if lost:
        raise ExecutionFailed(
            f'{path.name} 的 {edition} 版存着完整规模的输出（{old.get("device")}，{old.get("date")}），'
            f'这次运行是缩减规模，不写回。要在这台机器上按完整规模运行：--scale full；'
            f'确实要换成缩减规模的输出：--allow-reduced')


def execute(path, timeout=3600, frameworks=None, scale='auto', allow_reduced=False, report=print):
    """执行一个笔记本的各个版本；全部成功后原子地写回。返回 {版本: 秒}。"""
    path = Path(path).resolve()
    src = nbformat.read(path, as_version=4)
    todo = [e for e in ed.editions(src) if not frameworks or e in frameworks]
    if not todo:
        report(f'  跳过    {path.name}：没有 {"/".join(frameworks)} 版')
        return {}
    old = ed.provenance(src)
    # 事先就能看出会缩减规模时，不浪费时间运行
    for e in todo:
        had_full = any(s == 'full' for s in (old.get(e) or {}).get('cells', {}).values())
        if had_full and not allow_reduced and scale != 'full' and \
                (scale == 'reduced' or not _gpu_available(e)):
            raise ExecutionFailed(
                f'{path.name} 的 {e} 版存着完整规模的输出（{old[e].get("device")}，{old[e].get("date")}），'
                f'而这次会缩减规模（--scale {scale}{"，没有 GPU" if scale == "auto" else ""}），不运行。'
                '要在这台机器上按完整规模运行：--scale full；确实要换成缩减规模的输出：--allow-reduced')
    times = {}
    results = []
    for e in todo:
        executed, prov = run_edition(src, path, e, None if scale == 'auto' else scale, timeout)
        if not allow_reduced:
            check_scale_downgrade(old.get(e), prov, e, path)
        results.append((e, executed, prov))
        times[e] = prov['seconds']
    # 默认版本先合并，共用单元的输出再与它比较
    default = ed.default_edition(src)
    results.sort(key=lambda r: r[0] != default)
    for e, executed, prov in results:
        merge(src, e, executed, prov)
    atomic_write(src, path)
    return times


def _raise_interrupt(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('notebooks', nargs='+')
    parser.add_argument('--framework', '--fw', action='append', choices=list(ed.FRAMEWORKS) + ['python'],
                        help='只运行这个版本（可重复）；默认运行全部版本')
    parser.add_argument('--scale', choices=['auto', 'full', 'reduced'], default='auto',
                        help='gpu 单元的规模：auto（有 GPU 时完整规模）、full、reduced')
    parser.add_argument('--allow-reduced', action='store_true',
                        help='允许用缩减规模的输出替换已存储的完整规模输出')
    parser.add_argument('--timeout', type=int, default=3600, help='每个单元的最长秒数')
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    failed = []
    try:
        for nb in args.notebooks:
            try:
                times = execute(nb, args.timeout, args.framework, args.scale, args.allow_reduced)
                for e, secs in times.items():
                    print(f'{secs:8.1f} s  {nb} [{e}]', flush=True)
            except (ExecutionFailed, OSError, nbformat.ValidationError, json.JSONDecodeError) as e:
                print(f'  失败    {nb}: {type(e).__name__}: {e}', flush=True)
                failed.append(nb)
    except (Interrupted, KeyboardInterrupt) as e:
        print(f'\n中断（{e or "SIGINT"}）：停止运行；正在执行的笔记本保持原样。', file=sys.stderr, flush=True)
        return 130
    if failed:
        print(f'{len(failed)} 个笔记本执行失败：' + ' '.join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
