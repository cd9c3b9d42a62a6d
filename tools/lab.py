"""在本地用 JupyterLab 打开本书：每个笔记本是一个框架的版本，能在一个内核里从头到尾运行。

    make lab               # MXNet 版（笔记的框架）
    make lab FW=pytorch    # PyTorch 版
    python tools/lab.py --framework pytorch --prepare-only   # 只生成笔记本，不启动 JupyterLab

书里的笔记本同时含有两个框架的单元（见 tools/editions.py），不能直接在一个内核里运行。
这里把每个笔记本的一个版本写到 ``_build/lab/<框架>/``（被 git 忽略），目录结构与仓库相同，
然后在那里启动 JupyterLab。内核是 .venv 里的 Python，``utils`` 通过 .venv 中的 .pth 文件找到。

你在 ``_build/lab/`` 里的修改不会被覆盖：已存在且被改过的笔记本保留原样（``--refresh`` 才覆盖），
也不会写回书里的笔记本。
"""
import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools import editions as ed  # noqa: E402

LAB_DIR = ROOT / '_build' / 'lab'
_STAMP = '.generated.json'  # 生成时各文件的哈希：据此判断学习者是否改过


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def prepare(framework, refresh=False, out=None):
    """生成一个框架的全部笔记本，返回 (目录, 写入的文件数, 保留的被修改过的文件列表)。"""
    out = Path(out) if out else LAB_DIR / framework
    stamp_path = out / _STAMP
    stamps = json.loads(stamp_path.read_text()) if stamp_path.exists() else {}
    written, kept = 0, []
    for src in sorted((ROOT / 'chapters').rglob('*.ipynb')):
        if '.ipynb_checkpoints' in src.parts:
            continue
        nb = nbformat.read(src, as_version=4)
        editions = ed.editions(nb)
        edition = framework if framework in editions else editions[0]  # 第 6 章的单框架笔记本照样放进去
        rel = src.relative_to(ROOT)
        dest = out / rel
        if dest.exists() and not refresh and stamps.get(str(rel)) != _sha(dest):
            kept.append(rel)  # 学习者改过：不覆盖
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_suffix('.ipynb.tmp')
        nbformat.write(ed.extract(nb, edition), tmp)
        os.replace(tmp, dest)
        stamps[str(rel)] = _sha(dest)
        written += 1
    out.mkdir(parents=True, exist_ok=True)
    stamp_path.write_text(json.dumps(stamps, indent=1, sort_keys=True))
    return out, written, kept


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--framework', '--fw', choices=ed.FRAMEWORKS, default='mxnet')
    parser.add_argument('--refresh', action='store_true', help='覆盖 _build/lab 中被修改过的笔记本')
    parser.add_argument('--prepare-only', action='store_true', help='只生成笔记本，不启动 JupyterLab')
    parser.add_argument('--out', help='生成到这个目录（默认 _build/lab/<框架>）')
    parser.add_argument('lab_args', nargs='*', help='传给 jupyter lab 的其他参数（放在 -- 之后）')
    args = parser.parse_args(argv)
    out, written, kept = prepare(args.framework, args.refresh, args.out)
    print(f'{ed.LABELS[args.framework]} 版的笔记本在 {out}（更新了 {written} 个）')
    if kept:
        print(f'你改过的 {len(kept)} 个笔记本保留原样（make lab REFRESH=1 会覆盖它们）：')
        for rel in kept:
            print('  ', rel)
    if args.prepare_only:
        return 0
    jupyter = Path(sys.executable).with_name('jupyter')
    cmd = [str(jupyter), 'lab', f'--notebook-dir={out}', *args.lab_args]
    if hasattr(os, 'geteuid') and os.geteuid() == 0 and '--allow-root' not in cmd:
        cmd.append('--allow-root')  # 容器里常以 root 运行；JupyterLab 否则拒绝启动
    print(' '.join(cmd), flush=True)
    os.execv(cmd[0], cmd)


if __name__ == '__main__':
    sys.exit(main())
