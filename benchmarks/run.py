"""本书的基准测试：``make bench``（即 ``.venv/bin/python benchmarks/run.py``）。

    benchmarks/run.py                    数据层 + CPU 训练吞吐量（约 5～10 分钟），改写 README 的表格
    benchmarks/run.py --only data        只测数据层
    benchmarks/run.py --only train       只测训练吞吐量
    benchmarks/run.py --only nbval       只测书的验证用时（nbval 重新执行全部笔记本，十几分钟）
    benchmarks/run.py --with-nbval       数据层 + 训练 + nbval
    benchmarks/run.py --gpu              另外在 GPU 上比较第 6 章的模型（只在 torch.cuda.is_available() 时运行）
    benchmarks/run.py --only gpu         只做 GPU 部分：加载器比较 + 训练循环逐步改动的速度（GPU 机器上没有 MXNet 也能运行）
    benchmarks/run.py --quick --no-write 冒烟测试：规模缩小，不改 README

每项比较的两边（本书 / 原书的管道）都在同一个进程里交替运行并给出比值，因为机器上可能同时有别的负载。
MXNet 与 PyTorch 各在一个子进程里测量（互不影响彼此的线程和工作进程）。
除了 benchmarks/README.md 之外不写仓库里的任何文件；临时文件放在 tempfile 目录里。
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # 不在 benchmarks/ 下留下 __pycache__

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from common import (ROOT, fmt_rate, fmt_ratio, fmt_s, format_machine, machine_info,  # noqa: E402
                    replace_section, table)

WORKERS = {
    'load': ('bench_data', 'bench_load'),
    'data-mxnet': ('bench_data', 'bench_mxnet'),
    'data-torch': ('bench_data', 'bench_torch'),
    'train-mxnet': ('bench_train', 'bench_mxnet'),
    'train-torch': ('bench_train', 'bench_torch'),
    'gpu-torch': ('bench_train', 'bench_gpu'),
    'gpu-steps': ('bench_train', 'bench_gpu_steps'),
}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ 子进程
def run_worker(name, args):
    """在一个新的 Python 进程里运行一项测量，结果经临时 JSON 文件返回。"""
    with tempfile.TemporaryDirectory(prefix='d2l-bench-') as tmp:
        out = os.path.join(tmp, 'out.json')
        cmd = [sys.executable, os.path.abspath(__file__), '--worker', name, '--out', out,
               '--workers', str(args.workers)] + (['--quick'] if args.quick else [])
        paths = [str(ROOT)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(dict.fromkeys(paths)), PYTHONDONTWRITEBYTECODE='1',
                   TQDM_DISABLE='1', MPLBACKEND='Agg')
        log(f'== {name}')
        subprocess.run(cmd, cwd=ROOT, env=env, check=True)
        with open(out, encoding='utf-8') as f:
            return json.load(f)


def worker_main(args):
    import importlib
    import warnings
    warnings.filterwarnings('ignore')
    module, func = WORKERS[args.worker]
    fn = getattr(importlib.import_module(module), func)
    kwargs = {}
    if args.worker != 'load':
        kwargs['quick'] = args.quick
        kwargs['workers'] = args.workers
    if args.worker == 'gpu-torch':
        kwargs = {'workers': args.gpu_workers, 'batches': 10 if args.quick else 60}
    if args.worker == 'gpu-steps':
        kwargs = {'batches': 10 if args.quick else 40}
    result = fn(**kwargs)
    for r in result if isinstance(result, list) else [result]:
        if isinstance(r, dict):
            log('  ', {k: v for k, v in r.items() if k not in ('raw', 'stdout', 'models', 'steps')})
    with open(args.out, 'w', encoding='utf-8') as f:
        json.dump(result, f, ensure_ascii=False, indent=1, default=str)


# ------------------------------------------------------------------ 表格
def command_line(args, part):
    flags = {'data': '--only data', 'train': '--only train', 'nbval': '--only nbval',
             'gpu': '--only gpu', 'gpu-steps': '--only gpu'}[part]
    extra = f' --workers {args.workers}' if args.workers != 2 else ''
    return f'`PYTHONPATH=. .venv/bin/python benchmarks/run.py {flags}{extra}`（或 `make bench` 的相应部分）'


def header(args, part, info, note=''):
    lines = [f'命令：{command_line(args, part)}', '',
             f'机器：{format_machine(info)}。']
    if info.get('loadavg') and info['loadavg'][0] > 0.75 * (info['cores'] or 1):
        lines[-1] += '**测量时机器上同时运行着别的任务**（负载高于核数的 3/4），绝对数字偏低、有波动，以同一进程内的比值为准。'
    if note:
        lines += ['', note]
    return '\n'.join(lines) + '\n'


def section_data(args, info, load, mx, pt):
    body = header(args, 'data', info)
    body += '\n**加载 Fashion-MNIST**（每次一个新的 Python 子进程调用 `utils.data.load_fashion_mnist()`；' \
            f'新的临时 `XDG_CACHE_HOME`，.gz 来自 `{load["source"]}`；{len(load["cold"])} 轮取中位数）\n\n'
    body += table(['步骤', '秒'], [
        ['首次加载：读 .gz、解压、SHA-256 校验、解码、写 .npy 缓存', fmt_s(load['cold_s'])],
        ['再次加载：读 .npy 缓存', fmt_s(load['warm_s'])],
        ['首次 / 再次', fmt_ratio(load['cold_s'] / load['warm_s'])],
    ]) + '\n\n'
    body += ('**遍历训练集**（examples/s，越大越好；每个批量都等到数据真正可用；'
             f'原书管道用 {args.workers} 个工作进程）\n\n')
    rows = []
    for fw, results, book, text in (
            ('MXNet', mx, '`utils.mxnet.ArrayLoader`', 'Gluon `ArrayDataset.transform_first(ToTensor/Resize)` + `DataLoader`'),
            ('PyTorch', pt, '`utils.torch.TensorLoader`（CPU）', 'PIL + `transforms.Compose([Resize, ToTensor])` + `DataLoader`')):
        for r in results:
            if 'config' not in r:
                continue
            label = fw
            if 'threads' in r:
                label += f'（torch {r["threads"]} 个计算线程' + ('，默认）' if r['threads'] == r['default_threads'] else '）')
            rows.append([label, r['config'], f'{book}：{fmt_rate(r["book"])}', f'{text}：{fmt_rate(r["textbook"])}',
                         fmt_ratio(r['ratio'])])
    body += table(['框架', '配置', '本书加载器', '原书管道', '本书 / 原书'], rows) + '\n'
    body += ('\nPyTorch 的两组数字只差在主进程的 `torch.set_num_threads`：机器忙时，默认的多线程 OpenMP '
             '在小张量上互相等待，`TensorLoader` 的索引与类型转换会慢一个数量级（原书管道的工作进程本来就是 1 个线程）。'
             f'原书的 `get_dataloader_workers()` 默认 4 个工作进程；本机只有 {info["cores"]} 个核，'
             f'所以这里用 {args.workers} 个。28×28 的两种配置交替运行（A B、B A）后取中位数。\n')
    return body


def section_train(args, info, results):
    body = header(args, 'train', info)
    body += ('\n同一个进程里，同一个 `d2l.train_ch6`（`utils.mxnet` / `utils.torch`）训练同一个模型 1 个迭代周期，'
             '分别喂入本书的加载器和原书的管道（CPU，lr 0.9，批量 256）。MXNet 训练整个周期（60,000 个样本）；'
             'PyTorch 在本机慢得多，只训练前 60 个批量（15,360 个样本），并在默认线程数与 1 个线程下各比较一次。'
             '`train_ch6` 之后的测试集评估（10,000 个样本）不计入周期墙钟。'
             '“周期墙钟”是整个训练周期的 examples/s（取数据 + 训练步骤）；'
             '`train_ch6` 自己打印的 examples/sec 只计训练步骤、不计取数据，列在后面作参照：'
             '原书管道的工作进程在训练步骤进行时与之争用同样的 CPU 核，所以这个数字两边也会不同。'
             'sigmoid LeNet 第 1 个周期后的 test acc 为 0.1 是正常的（5.6 节的输出在第 2～3 个周期才上升），'
             '这一列只用来确认两边训练的是同一个东西。\n\n')
    rows = []
    for r in results:
        b, t = r['book'], r['textbook']
        device = r['device'] + (f'，torch {r["threads"]} 个线程' + ('（默认）' if r['threads'] == r['default_threads'] else '')
                                if 'threads' in r else '')
        rows.append([r['model'], device, f'{b["examples"]:,}', fmt_rate(b['epoch_rate']), fmt_rate(t['epoch_rate']),
                     fmt_ratio(r['ratio']),
                     f'{fmt_rate(b["printed_rate"])} / {fmt_rate(t["printed_rate"])}',
                     f'{b["test_acc"]:.3f} / {t["test_acc"]:.3f}'])
    body += table(['模型', '设备', '训练样本', '本书加载器：周期墙钟 ex/s', f'原书管道（{args.workers} 个工作进程）：周期墙钟 ex/s',
                   '本书 / 原书', 'train_ch6 打印的 examples/sec（本书 / 原书）', '训练后的 test acc（本书 / 原书）'],
                  rows) + '\n'
    return body


def section_gpu(args, info, results):
    if not results or 'skipped' in results[0]:
        why = results[0]['skipped'] if results else '没有运行'
        return ('GPU 行**等待一次有 GPU 的会话**：代码已经写好（`bench_train.bench_gpu`，在 CPU 上试运行过），'
                f'本次测量时{why}，所以没有数字。它对第 6 章的每个 PyTorch 模型（6.1 AlexNet、6.2 VGG、6.3 NiN、'
                '6.4 GoogLeNet、6.6 ResNet、6.7 DenseNet，超参数与笔记本的 gpu 单元相同），在同一块 GPU 上用同一个训练步骤比较'
                '本书的 `TensorLoader`（整个数据集在显存里，`F.interpolate` 调整大小）与原书的 PIL + `DataLoader`'
                f'（{args.gpu_workers} 个工作进程，`pin_memory=True`），预热 5 个批量后计时 60 个批量，A B A B 取中位数。\n')
    body = header(args, 'gpu', info) + '\n'
    rows = [[r['model'], f'{r["resize"]}×{r["resize"]}', r['batch_size'], fmt_rate(r['book']),
             fmt_rate(r['textbook']), fmt_ratio(r['ratio'])] for r in results]
    body += f'设备：{results[0]["device"]}；原书管道 {results[0]["workers"]} 个工作进程；每项预热 5 个批量后计时 {results[0]["batches"]} 个批量。\n\n'
    body += table(['模型', '输入', '批量', '本书加载器 ex/s', '原书管道 ex/s', '本书 / 原书'], rows) + '\n'
    return body


EPOCHS, N_TRAIN, N_TEST, REDRAWS_PER_EPOCH = 10, 60000, 10000, 6
GOAL_S = 240


def chapter_seconds(models, step, eval_key, animator_s):
    """按测得的速度推算第 6 章 6 个模型各训练 10 个迭代周期的用时：训练 + 每个周期的测试集评估 + 曲线重画。"""
    train = sum(EPOCHS * N_TRAIN / m['train'][step] for m in models)
    evaluate = sum(EPOCHS * N_TEST / m[eval_key] for m in models)
    redraw = EPOCHS * REDRAWS_PER_EPOCH * len(models) * animator_s
    return train, evaluate, redraw


def section_gpu_steps(args, info, res):
    if 'skipped' in res:
        return ('**等待一次有 GPU 的会话**：`bench_train.bench_gpu_steps` 已经写好并在 CPU 上试运行过，'
                f'本次测量时{res["skipped"]}，所以没有数字。它对第 6 章的每个模型，用本书的加载器和笔记本的超参数，'
                '依次在训练循环上累积一处改动（每个批量不再同步、cuDNN 自动选择算法、TF32、bf16 自动混合精度、'
                'channels_last），测出每一步的 examples/s 与比值；再测评估速度、一次曲线重画的用时、'
                '矩阵乘法的实测峰值，推算整章 10 个迭代周期的训练时间，与 4 分钟的目标和每个样本的计算量所允许的上限比较。\n')
    steps, models = [s for s, _ in res['steps']], res['models']
    body = header(args, 'gpu-steps', info) + '\n'
    body += (f'设备：{res["device"]}，torch {res["torch"]}；默认设置：' +
             '，'.join(f'`{k}` = {v}' for k, v in res['defaults'].items()) +
             f'。每项预热 {res["warmup"]} 个批量后计时 {res["batches"]} 个批量，数据在显存里（本书的 `TensorLoader`），'
             '模型与超参数取自笔记本（`benchmarks/models.py`）。每一步在前一步的基础上再改一处：\n\n')
    body += '\n'.join(f'{i}. `{s}`：{d}' for i, (s, d) in enumerate(res['steps'])) + '\n\n'
    head = ['模型', '批量', '前向 FLOPs/样本'] + [f'`{s}` ex/s' if i == 0 else f'`{s}`' for i, s in enumerate(steps)]
    rows = []
    for m in models:
        t = m['train']
        rows.append([m['model'], m['batch_size'], f'{m["forward_flops"] / 1e9:.2f} G', fmt_rate(t[steps[0]])] +
                    [f'{fmt_rate(t[s])}（{t[s] / t[prev]:.2f}×）' for prev, s in zip(steps, steps[1:])])
    body += '训练 examples/s（括号里是相对前一步的比值）：\n\n' + table(head, rows) + '\n\n'
    rows = [[m['model'], f'{m["batch_size"]} → {2 * m["batch_size"]}', fmt_rate(m['train']['bf16']),
             fmt_rate(m['bf16_double_batch']), fmt_ratio(m['bf16_double_batch'] / m['train']['bf16'])]
            for m in models if 'bf16_double_batch' in m]
    if rows:
        body += ('启动开销（`bf16` 的设置，批量加倍）：每秒样本数接近翻倍的模型受限于逐个启动的小核函数（层多、每层计算少），'
                 '而不是计算本身；CUDA Graphs 或 `torch.compile` 能减少这部分开销，但编译本身要花的时间在这里没有测：\n\n' +
                 table(['模型', '批量', '原批量 ex/s', '加倍 ex/s', '比值'], rows) + '\n\n')
    rows = [[m['model'], fmt_rate(m['eval_book']), fmt_rate(m['eval_nosync']),
             fmt_ratio(m['eval_nosync'] / m['eval_book'])] for m in models]
    body += ('测试集评估 examples/s（`evaluate_accuracy_gpu` 每个批量读回主机 / 在设备上累加）：\n\n' +
             table(['模型', '每个批量同步', '设备上累加', '比值'], rows) + '\n\n')
    a = res['animator_s']
    body += (f'曲线重画：`train_ch6` 每个周期调用 `Animator.add` {REDRAWS_PER_EPOCH} 次，在 Jupyter 中每次渲染一张 PNG；'
             f'这台机器上一次 {a * 1000:.0f} ms，整章 {EPOCHS * REDRAWS_PER_EPOCH * len(models)} 次共 '
             f'{EPOCHS * REDRAWS_PER_EPOCH * len(models) * a:.1f} s。\n\n')
    rows = []
    for i, s in enumerate(steps):
        tr, ev, rd = chapter_seconds(models, s, 'eval_book' if i == 0 else 'eval_nosync', a)
        total = tr + ev + rd
        rows.append([f'`{s}`', f'{tr:.0f}', f'{ev:.0f}', f'{rd:.0f}', f'**{total:.0f} s（{total / 60:.1f} min）**',
                     '是' if total <= GOAL_S else '否'])
    body += (f'由上面的速度推算整章（6 个模型各 {EPOCHS} 个迭代周期，每个周期训练 {N_TRAIN:,} 个、评估 {N_TEST:,} 个样本）'
             f'的训练时间，目标是 {GOAL_S // 60} 分钟以内：\n\n' +
             table(['到这一步为止', '训练 s', '评估 s', '重画 s', '合计', f'≤ {GOAL_S // 60} min'], rows) + '\n\n')
    mm = res['matmul']
    body += ('物理上限：训练一个样本约需 3 倍前向计算量（反向传播对输入和权重各求一次梯度），'
             f'以实测的大矩阵乘法吞吐量（{res.get("matmul_n", 8192)}×{res.get("matmul_n", 8192)}，' +
             '，'.join(f'{k} {v / 1e12:.3g} TFLOP/s' for k, v in mm.items()) +
             '）为这块卡能达到的峰值，每个模型的 examples/s 上限是 峰值 ÷ (3 × 前向 FLOPs)。'
             '`model_stats` 只计卷积层和全连接层，所以上限偏高（实际的差距比表中小一些）。\n\n')
    rows = []
    for m in models:
        t, f3 = m['train'], 3 * m['forward_flops']
        ub_tf32, ub_bf16 = mm['tf32'] / f3, mm['bf16'] / f3
        best = max(steps, key=lambda s: t[s])
        rows.append([m['model'], f'{f3 / 1e9:.2f} G', fmt_rate(ub_tf32), f'{t[steps[0]] / ub_tf32:.0%}',
                     fmt_rate(ub_bf16), f'{fmt_rate(t[best])}（`{best}`）', f'{t[best] / ub_bf16:.0%}'])
    body += table(['模型', '训练 FLOPs/样本', 'TF32 上限 ex/s', '`book` 达到上限的', 'bf16 上限 ex/s',
                   '最快一步 ex/s', '达到 bf16 上限的'], rows) + '\n'
    return body


def section_nbval(args, info, res):
    nbs = res['notebooks']
    total = sum(v['seconds'] for v in nbs.values())
    failed = {p: v for p, v in nbs.items() if v['failed']}
    body = header(args, 'nbval', info)
    body += (f'\n一次 pytest 运行，配置与 CI 相同（`pytest.ini`：`-n auto --dist loadscope`，每个核一个工作进程，'
             f'每个笔记本的每个版本在一个全新内核中运行）：`{res["cmd"]}`；'
             '`-p benchmarks.nbval_timer` 按版本累计每个单元的 setup + call + teardown（含内核启动与关闭）。'
             '并行时各版本的用时之和大于墙钟。'
             f'pytest 的结果：{res["summary"]}\n\n')
    per_edition = {}
    for p, v in nbs.items():
        edition = p.rsplit('::', 1)[-1]
        per_edition[edition] = per_edition.get(edition, 0) + v['seconds']
    target = 15 * 60
    body += table(['', '秒'], [
        *[[f'{edition} 版（{sum(1 for p in nbs if p.endswith("::" + edition))} 个笔记本）各版本用时之和', fmt_s(t)]
          for edition, t in sorted(per_edition.items())],
        [f'{len(nbs)} 个版本合计', fmt_s(total)],
        ['pytest 进程墙钟（含收集与启动）', fmt_s(res['wall_s'])],
        ['目标：整本书 < 15 分钟', ('达到' if res['wall_s'] < target else '**未达到**')
         + f'（{res["wall_s"] / 60:.1f} 分钟）'],
    ]) + '\n\n'
    body += '最慢的十个版本：\n\n'
    slow = sorted(nbs.items(), key=lambda kv: -kv[1]['seconds'])
    body += table(['笔记本::版本', '单元数', '秒', '占合计'], [
        [f'`{p}`' + ('（有失败的单元）' if v['failed'] else ''), v['cells'], fmt_s(v['seconds']),
         f'{100 * v["seconds"] / total:.0f}%'] for p, v in slow[:10]]) + '\n'
    if failed:
        body += '\n失败的笔记本（计时照常计入）：' + '、'.join(f'`{p}`（{v["failed"]} 个单元）' for p, v in failed.items()) + '\n'
    body += '\n<details><summary>全部版本</summary>\n\n'
    body += table(['笔记本::版本', '单元数', '秒'], [[f'`{p}`', v['cells'], fmt_s(v['seconds'])]
                                          for p, v in sorted(nbs.items())]) + '\n\n</details>\n'
    return body


# ------------------------------------------------------------------ 主程序
def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--only', choices=['data', 'train', 'nbval', 'gpu'], help='只运行这一部分')
    p.add_argument('--with-nbval', action='store_true', help='也运行 nbval 部分（很慢）')
    p.add_argument('--gpu', action='store_true', help='也在 GPU 上比较第 6 章模型（需要 CUDA）')
    p.add_argument('--workers', type=int, default=2, help='原书管道在 CPU 上的 DataLoader 工作进程数（默认 2）')
    p.add_argument('--gpu-workers', type=int, default=4, help='--gpu 时原书管道的工作进程数（默认 4，原书的默认值）')
    p.add_argument('--notebooks', default='chapters/*/*.ipynb', help='nbval 部分的笔记本（glob，相对仓库根目录）')
    p.add_argument('--quick', action='store_true', help='缩小规模（冒烟测试）；隐含 --no-write')
    p.add_argument('--no-write', action='store_true', help='不改写 benchmarks/README.md')
    p.add_argument('--json', help='另把原始结果写到这个文件（应在仓库之外；每做完一项就更新一次）')
    p.add_argument('--from-json', help='不测量：由以前 --json 写下的结果生成表格（例如 GPU 机器带回的 bench.json）')
    p.add_argument('--worker', choices=sorted(WORKERS), help=argparse.SUPPRESS)
    p.add_argument('--out', help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker_main(args)
    write = not (args.quick or args.no_write)

    if args.from_json:
        with open(args.from_json, encoding='utf-8') as f:
            raw = json.load(f)
        sections = render(args, raw)
    else:
        parts = [args.only] if args.only else ['data', 'train'] + (['nbval'] if args.with_nbval else [])
        if args.gpu and 'gpu' not in parts:
            parts.append('gpu')
        raw = {'info': {}}

        def keep(key, value, info):  # 每做完一项就写一次 JSON：运行被时限打断时，已有的结果不丢
            raw[key], raw['info'][key] = value, info
            if args.json:
                with open(args.json, 'w', encoding='utf-8') as f:
                    json.dump(raw, f, ensure_ascii=False, indent=1, default=str)

        for part in parts:
            info = machine_info()
            if part == 'data':
                load = run_worker('load', args)
                mx, pt = run_worker('data-mxnet', args), run_worker('data-torch', args)
                keep('data', {'load': load, 'mxnet': mx, 'torch': pt}, info)
            elif part == 'train':
                keep('train', run_worker('train-mxnet', args) + run_worker('train-torch', args), info)
            elif part == 'gpu':
                keep('gpu', run_worker('gpu-torch', args), info)
                keep('gpu-steps', run_worker('gpu-steps', args), machine_info())
            elif part == 'nbval':
                from bench_nbval import bench_nbval
                log('== nbval')
                keep('nbval', bench_nbval(args.notebooks), info)
        sections = render(args, raw)

    for name, body in sections.items():
        print(f'\n### {name}\n\n{body}')
        if write:
            replace_section(name, body)
    if write:
        log(f'已改写 {os.path.relpath(os.path.join(HERE, "README.md"), ROOT)}：' + '、'.join(sections))


def render(args, raw):
    """由原始结果（本次运行的，或 --from-json 读入的）生成 README 的各段。"""
    info, sections = raw.get('info', {}), {}
    if 'data' in raw:
        d = raw['data']
        sections['data'] = section_data(args, info['data'], d['load'], d['mxnet'], d['torch'])
    if 'train' in raw:
        sections['train'] = section_train(args, info['train'], raw['train'])
    if 'gpu' in raw:
        sections['gpu'] = section_gpu(args, info['gpu'], raw['gpu'])
    if 'gpu-steps' in raw:
        sections['gpu-steps'] = section_gpu_steps(args, info['gpu-steps'], raw['gpu-steps'])
    if 'nbval' in raw:
        sections['nbval'] = section_nbval(args, info['nbval'], raw['nbval'])
    return sections


if __name__ == '__main__':
    main()
