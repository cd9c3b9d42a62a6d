"""在全新的内核里从头到尾执行给定的笔记本，并把输出写回原文件。

    python tools/execute.py chapters/ch01_preliminaries/1.1_ndarray.ipynb [...]
    make execute NB="chapters/ch06_modern-cnn/*.ipynb"

维护者刷新存储的输出用的就是这条命令（有 GPU 时第 6 章的 ``gpu`` 单元按完整规模运行）。
内核的工作目录是笔记本所在目录（与 nbval 相同），仓库根目录加入 PYTHONPATH，
所以 ``from utils import mxnet as d2l`` 总能找到本仓库的 ``utils``。
"""
import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


SHARED_KAGGLE = ROOT.parent / 'shared' / 'data' / 'kaggle_house'


def prepare_kernel_env():
    """内核继承的环境：仓库根目录在 PYTHONPATH 上；有本地房价数据副本时数据中心用它（否则联网下载并校验）。

    tools/execute.py 和 tests/conftest.py（nbval）都用这个函数，两种执行方式看到同样的环境。
    """
    paths = [str(ROOT)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]
    os.environ['PYTHONPATH'] = os.pathsep.join(dict.fromkeys(paths))
    os.environ.setdefault('TQDM_DISABLE', '1')
    os.environ.setdefault('MPLBACKEND', 'Agg')
    if 'D2L_DATA_DIR' not in os.environ and SHARED_KAGGLE.is_dir():
        os.environ['D2L_DATA_DIR'] = str(SHARED_KAGGLE)


def execute(path, timeout):
    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    prepare_kernel_env()
    client = NotebookClient(nb, timeout=timeout, kernel_name='python3',
                            resources={'metadata': {'path': str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        # 出错时也写回，方便查看是哪个单元失败
        for cell in nb.cells:
            cell.get('metadata', {}).pop('execution', None)
        nbformat.write(nb, path)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('notebooks', nargs='+')
    parser.add_argument('--timeout', type=int, default=3600, help='每个单元的最长秒数')
    args = parser.parse_args(argv)
    failed = []
    for nb in args.notebooks:
        try:
            secs = execute(nb, args.timeout)
            print(f'{secs:8.1f} s  {nb}', flush=True)
        except Exception as e:  # noqa: BLE001  继续执行其余笔记本
            print(f'  FAILED  {nb}: {type(e).__name__}: {str(e)[-2000:]}', flush=True)
            failed.append(nb)
    if failed:
        print(f'{len(failed)} 个笔记本执行失败：' + ' '.join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
