"""书的验证用时：用 CI 的配置（pytest.ini 与仓库根目录的 conftest.py：按版本收集、并行）重新执行每个笔记本。"""
import json
import os
import subprocess
import sys
import tempfile

from common import ROOT, now


def notebooks(pattern='chapters/*/*.ipynb'):
    return sorted(str(p.relative_to(ROOT)) for p in ROOT.glob(pattern))


def bench_nbval(pattern='chapters/*/*.ipynb', extra_args=()):
    """一次 pytest 运行执行所有笔记本的所有版本（与 CI 相同的 pytest.ini），插件按版本累计各单元的用时。"""
    nbs = notebooks(pattern)
    if not nbs:
        raise SystemExit(f'没有匹配 {pattern} 的笔记本')
    with tempfile.TemporaryDirectory(prefix='d2l-bench-nbval-') as tmp:
        out = os.path.join(tmp, 'nbval.json')
        env = dict(os.environ, D2L_BENCH_NBVAL_JSON=out, PYTHONDONTWRITEBYTECODE='1',
                   PYTHONPATH=os.pathsep.join([str(ROOT)] + [
                       p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]),
                   TQDM_DISABLE='1')
        cmd = [sys.executable, '-m', 'pytest', *nbs, '-p', 'no:cacheprovider',
               '-p', 'benchmarks.nbval_timer', '-q', '--no-header',
               '-o', 'console_output_style=classic', *extra_args]
        print('+', ' '.join(cmd[1:3]), f'<{len(nbs)} 个笔记本>', ' '.join(cmd[3 + len(nbs):]),
              file=sys.stderr, flush=True)
        start = now()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
        wall = now() - start
        tail = proc.stdout.strip().splitlines()[-15:]
        print('\n'.join(tail), file=sys.stderr, flush=True)
        if not os.path.exists(out):
            raise RuntimeError('pytest 没有写出结果：\n' + proc.stdout[-5000:])
        with open(out, encoding='utf-8') as f:
            res = json.load(f)
    res.update(wall_s=wall, returncode=proc.returncode, summary=tail[-1] if tail else '',
               cmd=' '.join(['.venv/bin/python', '-m', 'pytest', pattern] + cmd[3 + len(nbs):]))
    return res
