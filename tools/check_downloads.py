"""运行网站提供下载的每个压缩包：像读者那样解压、在全新内核中从头到尾运行其中的笔记本。

    make site && python tools/check_downloads.py [-j 2] [名字的一部分 ...]

每个压缩包（``_build/html/_downloads/editions/*.zip``）解压到一个临时目录，内核的工作目录就是解压出的
目录，环境里没有 PYTHONPATH、MPLBACKEND 和 D2L_SCALE（与读者在自己电脑上打开时相同：没有 GPU 时
``gpu`` 单元按缩减规模运行）。最后一个单元确认导入的 ``utils`` 来自压缩包而不是仓库。

``make test`` 中的 nbval 运行的是同样的单元（``tools.editions.extract``），网站测试在全新内核中运行
每个框架的一个压缩包；这个命令把全部压缩包都运行一遍，耗时与 nbval 相当（见 README）。
结果逐个打印，有失败时退出码为 1。
"""
import argparse
import concurrent.futures as cf
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.execute import _ANSI  # noqa: E402  报告错误时去掉颜色代码

ZIPS = ROOT / '_build' / 'html' / '_downloads' / 'editions'

CHECK_UTILS = ('import pathlib, utils\n'
               'assert pathlib.Path(utils.__file__).resolve().parent == pathlib.Path.cwd().resolve() / "utils", '
               'utils.__file__')


def run_zip(path, threads):
    """解压并运行一个压缩包；返回 (名字, 秒数, 错误说明或 None)。"""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix='d2l-download-') as tmp:
        with zipfile.ZipFile(path) as z:
            z.extractall(tmp)
        workdir = Path(tmp) / path.stem
        nb_path = workdir / f'{path.stem.rsplit("-", 1)[0]}.ipynb'
        nb = nbformat.read(nb_path, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(CHECK_UTILS))
        env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'MPLBACKEND', 'D2L_SCALE')}
        if threads:
            env['OMP_NUM_THREADS'] = str(threads)
        try:
            NotebookClient(nb, timeout=1800, kernel_name='python3').execute(cwd=str(workdir), env=env)
        except CellExecutionError as e:
            return path.stem, time.monotonic() - start, _ANSI.sub('', str(e).strip().splitlines()[-1])[:300]
        except Exception as e:  # 内核起不来、超时等
            return path.stem, time.monotonic() - start, f'{type(e).__name__}: {e}'[:300]
    return path.stem, time.monotonic() - start, None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('-j', '--jobs', type=int, default=os.cpu_count() or 1, help='同时运行的内核数')
    p.add_argument('names', nargs='*', help='只运行名字包含其中之一的压缩包')
    args = p.parse_args(argv)
    zips = sorted(ZIPS.glob('*.zip'))
    if not zips:
        sys.exit(f'{ZIPS} 里没有压缩包：先运行 make site')
    if args.names:
        zips = [z for z in zips if any(n in z.stem for n in args.names)]
    threads = 1 if args.jobs > 1 else None
    failed, total, wall = [], 0.0, time.monotonic()
    with cf.ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for name, secs, err in pool.map(run_zip, zips, [threads] * len(zips)):
            total += secs
            print(f'{"失败" if err else "通过"}  {name:45s} {secs:7.1f} s' + (f'\n      {err}' if err else ''),
                  flush=True)
            if err:
                failed.append(name)
    print(f'\n{len(zips) - len(failed)}/{len(zips)} 个压缩包在全新内核中运行通过；'
          f'各内核用时合计 {total:.0f} s，墙钟 {time.monotonic() - wall:.0f} s')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
