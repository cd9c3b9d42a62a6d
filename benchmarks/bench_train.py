"""训练吞吐量：同一个 ``d2l.train_ch6``、同一个模型，喂入本书的加载器或原书的逐样本管道。

两个数字：
* 周期墙钟 examples/s：``TimedIter`` 记下的整个训练周期（取数据 + 训练步骤）；
* ``train_ch6`` 打印的 examples/sec：它的计时器只包住训练步骤，不含取数据的时间。
"""
import contextlib
import io
import re

from common import median, now

_RATE = re.compile(r'([\d.]+) examples/sec on (\S+)')
_ACC = re.compile(r'loss ([\d.na]+), train acc ([\d.]+), test acc ([\d.]+)')


def _run_train_ch6(train_ch6, net, train_iter, test_iter, lr, device, max_batches):
    import textbook
    timed = textbook.TimedIter(train_iter, max_batches)
    buf = io.StringIO()
    start = now()
    with contextlib.redirect_stdout(buf):
        train_ch6(net, timed, test_iter, 1, lr, device)
    total = now() - start
    text = buf.getvalue()
    m, acc = _RATE.search(text), _ACC.findall(text)
    n, t = timed.epochs[-1]
    return {'epoch_rate': n / t, 'examples': n, 'epoch_s': t, 'total_s': total,
            'printed_rate': float(m.group(1)) if m else float('nan'),
            'test_acc': float(acc[-1][2]) if acc else float('nan'), 'stdout': text}


def _compare(make_net, train_ch6, book_loaders, textbook_loaders, lr, device, max_batches, rounds):
    res = {'book': [], 'textbook': []}
    for r in range(rounds):
        order = [('book', book_loaders), ('textbook', textbook_loaders)]
        if r % 2:
            order.reverse()
        for name, loaders in order:
            train_iter, test_iter = loaders()
            res[name].append(_run_train_ch6(train_ch6, make_net(), train_iter, test_iter,
                                            lr, device, max_batches))
            del train_iter, test_iter
    summary = {}
    for name, runs in res.items():
        summary[name] = {k: median([r[k] for r in runs])
                         for k in ('epoch_rate', 'printed_rate', 'epoch_s', 'total_s', 'test_acc')}
        summary[name]['examples'] = runs[0]['examples']
    summary['ratio'] = summary['book']['epoch_rate'] / summary['textbook']['epoch_rate']
    summary['device'] = str(device)
    return summary


# ------------------------------------------------------------------ MXNet
def mxnet_lenet():
    from mxnet.gluon import nn
    net = nn.Sequential()
    net.add(nn.Conv2D(channels=6, kernel_size=5, padding=2, activation='sigmoid'),
            nn.AvgPool2D(pool_size=2, strides=2),
            nn.Conv2D(channels=16, kernel_size=5, activation='sigmoid'),
            nn.AvgPool2D(pool_size=2, strides=2),
            nn.Dense(120, activation='sigmoid'),
            nn.Dense(84, activation='sigmoid'),
            nn.Dense(10))
    return net


def bench_mxnet(workers=2, quick=False):
    import gc
    from utils import data
    from utils import mxnet as d2l
    import textbook
    d2l.set_seed(0)
    arrays = data.load_fashion_mnist()
    batch_size, lr = 256, 0.9
    r = _compare(mxnet_lenet, d2l.train_ch6,
                 lambda: d2l.load_data_fashion_mnist(batch_size),
                 lambda: textbook.gluon_loaders(arrays, batch_size, None, workers),
                 lr, d2l.try_gpu(), 40 if quick else None, 1)
    gc.collect()
    r['model'] = 'LeNet（sigmoid，5.6 节），MXNet'
    return [r]


# ------------------------------------------------------------------ PyTorch
def torch_lenet():
    from torch import nn
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))


def bench_torch(workers=2, quick=False, batches=60):
    """PyTorch 在本机上慢得多（尤其机器忙、2 个计算线程互相等待时），所以只训练前 ``batches`` 个批量，
    在 torch 默认线程数和 1 个线程下各比较一次。"""
    import torch
    from utils import data
    from utils import torch as d2l
    import textbook
    arrays = data.load_fashion_mnist()
    batch_size, lr, device = 256, 0.9, torch.device('cpu')
    default = torch.get_num_threads()
    out = []
    for threads in dict.fromkeys([default, 1]):
        torch.set_num_threads(threads)
        d2l.set_seed(0)
        r = _compare(torch_lenet, d2l.train_ch6,
                     lambda: d2l.load_data_fashion_mnist(batch_size, device=device),
                     lambda: textbook.torch_loaders(arrays, batch_size, None, workers),
                     lr, device, 10 if quick else batches, 1)
        r['model'] = 'LeNet（sigmoid，5.6 节的 PyTorch 写法），PyTorch'
        r['threads'], r['default_threads'] = threads, default
        out.append(r)
    torch.set_num_threads(default)
    return out


# ------------------------------------------------------------------ GPU（第 6 章的模型）
NO_CUDA = '没有可用的 CUDA 设备'


def _device_and_sync(device=None):
    """(设备, 同步函数)；device 为 None 时取第一块 GPU，没有 GPU 时返回 (None, None)。
    给出 device（如 'cpu'）只为在 CPU 上试运行 GPU 部分的代码。"""
    import torch
    if device is None:
        if not torch.cuda.is_available():
            return None, None
        device = 'cuda:0'
    device = torch.device(device)

    def sync():
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
    return device, sync


def bench_gpu(workers=4, batches=60, warmup=5, device=None, only=None, batch_size=None):
    """每个第 6 章模型：本书加载器（数据在显存，F.interpolate）与原书管道（PIL + DataLoader），
    同一块 GPU、同一个训练步骤，计时 ``batches`` 个批量（先跑 ``warmup`` 个批量预热）。"""
    import torch
    from torch import nn
    from utils import data
    from utils import torch as d2l
    import models
    import textbook
    device, sync = _device_and_sync(device)
    if device is None:
        return [{'skipped': NO_CUDA}]
    cuda = device.type == 'cuda'
    torch.backends.cudnn.benchmark = True
    arrays = data.load_fashion_mnist()
    out = []
    for name, make_net, resize, bs, lr in models.CH6[:only]:
        bs = batch_size or bs  # batch_size 只为在 CPU 上试运行而设
        res = {}
        for side in ('book', 'textbook', 'book2', 'textbook2'):  # A B A B，取中位数
            d2l.set_seed(0)
            if side.startswith('book'):
                loader = d2l.TensorLoader(arrays[0], arrays[1], bs, True, resize, device)
            else:
                loader = textbook.torch_loaders(arrays, bs, resize, workers, pin_memory=cuda)[0]
            net = make_net().to(device)
            opt = torch.optim.SGD(net.parameters(), lr=lr)
            loss = nn.CrossEntropyLoss()
            net.train()
            n, start = 0, None
            for i, (X, y) in enumerate(loader):
                if i == warmup:
                    sync()
                    start, n = now(), 0
                X, y = X.to(device, non_blocking=True), y.to(device, non_blocking=True)
                opt.zero_grad()
                l = loss(net(X), y)
                l.backward()
                opt.step()
                n += X.shape[0]
                if i + 1 >= warmup + batches:
                    break
            sync()
            res.setdefault(side.rstrip('2'), []).append(n / (now() - start))
            del loader, net, opt
            if cuda:
                torch.cuda.empty_cache()
        book, text = median(res['book']), median(res['textbook'])
        out.append({'model': name, 'resize': resize, 'batch_size': bs, 'book': book,
                    'textbook': text, 'ratio': book / text, 'device': torch.cuda.get_device_name(device) if cuda else str(device),
                    'workers': workers, 'batches': batches})
    return out


# ------------------------------------------------------------------ GPU：第 6 章的训练时间花在哪里
# 每一步在前一步的基础上再改一处（累积），同一个模型、同一个加载器（本书的 TensorLoader）、同样的批量。
GPU_STEPS = [
    ('book', 'train_ch6 原样：每个批量用 float() 把损失和精度读回主机（两次同步）'),
    ('nosync', '指标留在设备上累加，不再每个批量同步'),
    ('cudnn', '再加 torch.backends.cudnn.benchmark = True（为每种形状挑选最快的卷积算法）'),
    ('tf32', '再加 torch.set_float32_matmul_precision("high")（全连接层的矩阵乘法用 TF32；卷积默认已允许 TF32）'),
    ('bf16', '再加 torch.autocast(bfloat16) 自动混合精度'),
    ('channels_last', '再把模型和输入换成 channels_last 内存布局'),
]


def _set_backend_flags(step):
    import torch
    i = [s for s, _ in GPU_STEPS].index(step)
    torch.backends.cudnn.benchmark = i >= 2
    torch.set_float32_matmul_precision('high' if i >= 3 else 'highest')
    return {'autocast': i >= 4, 'channels_last': i >= 5, 'sync_every_batch': i == 0}


def _train_rate(net, loader, lr, device, step, warmup, batches, sync):
    """按 step 的设置训练 warmup + batches 个批量，返回计时部分的 examples/s。

    'book' 一步与 train_ch6 的循环体相同（d2l.Accumulator 与 d2l.accuracy 每个批量把数读回主机）。"""
    import torch
    from torch import nn
    from utils import torch as d2l
    flags = _set_backend_flags(step)
    fmt = torch.channels_last if flags['channels_last'] else torch.contiguous_format
    net = net.to(device, memory_format=fmt)
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    loss = nn.CrossEntropyLoss()
    metric = d2l.Accumulator(3)
    dev_l, dev_acc = torch.zeros((), device=device), torch.zeros((), device=device)
    n, start = 0, None
    for i, (X, y) in enumerate(loader):
        if i == warmup:
            sync()
            start, n = now(), 0
        X, y = X.to(device, memory_format=fmt), y.to(device)
        opt.zero_grad()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=flags['autocast']):
            y_hat = net(X)
            l = loss(y_hat, y)
        l.backward()
        opt.step()
        with torch.no_grad():
            if flags['sync_every_batch']:
                metric.add(l * X.shape[0], d2l.accuracy(y_hat, y), X.shape[0])
            else:
                dev_l += l * X.shape[0]
                dev_acc += (y_hat.argmax(dim=1) == y).sum()
        n += X.shape[0]
        if i + 1 >= warmup + batches:
            break
    sync()
    rate = n / (now() - start)
    float(dev_l), float(dev_acc)  # 读回一次（每个周期末本来就要读）
    return rate


def _eval_rate(net, loader, device, sync, on_device, batches):
    """测试集评估的 examples/s：evaluate_accuracy_gpu 的写法（每个批量读回主机），或在设备上累加。"""
    import torch
    from utils import torch as d2l
    _set_backend_flags('book')
    net.eval()
    sync()
    start, n, correct = now(), 0, torch.zeros((), device=device)
    with torch.no_grad():
        for i, (X, y) in enumerate(loader):
            if on_device:
                correct += (net(X).argmax(dim=1) == y).sum()
            else:
                d2l.accuracy(net(X), y)
            n += X.shape[0]
            if i + 1 >= batches:
                break
    float(correct)
    sync()
    return n / (now() - start)


def animator_cost(calls=50):
    """train_ch6 每个周期重画 6 次曲线（5 次训练指标 + 1 次测试精度），在 Jupyter 中每次重画都渲染一张 PNG。
    这里量一次 Animator.add + 渲染 PNG（inline 后端的做法）的平均秒数；与 GPU 无关，是主机上的开销。"""
    import io
    import matplotlib
    matplotlib.use('Agg')
    from utils.plot import Animator
    anim = Animator(xlabel='epoch', xlim=[0, 10], legend=['train loss', 'train acc', 'test acc'])
    start = now()
    for k in range(calls):
        anim.add(k / 5, (1 / (k + 1), 0.5 + k / 200, None if k % 6 else 0.5 + k / 200))
        anim.fig.savefig(io.BytesIO(), format='png', bbox_inches='tight')
    return (now() - start) / calls


def peak_matmul_flops(device, sync, n=8192, reps=10):
    """实测的矩阵乘法吞吐量（FLOP/s），fp32、TF32、bf16 各一次：n×n 乘 n×n，预热后计时 reps 次。"""
    import torch
    out = {}
    for name, dtype, precision in (('fp32', torch.float32, 'highest'), ('tf32', torch.float32, 'high'),
                                   ('bf16', torch.bfloat16, 'highest')):
        torch.set_float32_matmul_precision(precision)
        a = torch.randn(n, n, device=device, dtype=dtype)
        b = torch.randn(n, n, device=device, dtype=dtype)
        for _ in range(2):
            a @ b
        sync()
        start = now()
        for _ in range(reps):
            a @ b
        sync()
        out[name] = 2 * n ** 3 * reps / (now() - start)
        del a, b
    torch.set_float32_matmul_precision('highest')
    return out


def bench_gpu_steps(batches=40, warmup=5, eval_batches=20, device=None, only=None, batch_size=None,
                    matmul_n=8192, animator_calls=50):
    """第 6 章每个模型：逐步改动训练循环时的训练 examples/s（GPU_STEPS，累积），评估的 examples/s，
    每个样本的前向 FLOPs（d2l.model_stats），加上实测的矩阵乘法峰值和 Animator 重画一次的用时。
    device / batch_size / matmul_n / animator_calls 只为在 CPU 上试运行这段代码而设。"""
    import torch
    from utils import data
    from utils import torch as d2l
    import models
    device, sync = _device_and_sync(device)
    if device is None:
        return {'skipped': NO_CUDA}
    cuda = device.type == 'cuda'
    defaults = {'cudnn.benchmark': torch.backends.cudnn.benchmark, 'cudnn.allow_tf32': torch.backends.cudnn.allow_tf32,
                'float32_matmul_precision': torch.get_float32_matmul_precision()}
    arrays = data.load_fashion_mnist()
    result = {'device': torch.cuda.get_device_name(device) if cuda else str(device), 'torch': torch.__version__,
              'defaults': defaults, 'steps': GPU_STEPS, 'batches': batches, 'warmup': warmup,
              'animator_s': animator_cost(animator_calls), 'models': []}
    for name, make_net, resize, bs, lr in models.CH6[:only]:
        bs = batch_size or bs
        d2l.set_seed(0)
        loader = d2l.TensorLoader(arrays[0], arrays[1], bs, True, resize, device)
        test_loader = d2l.TensorLoader(arrays[2], arrays[3], bs, False, resize, device)
        with contextlib.redirect_stdout(io.StringIO()):
            params, flops = d2l.model_stats(make_net(), (1, resize, resize))
        row = {'model': name, 'resize': resize, 'batch_size': bs, 'lr': lr, 'params': params,
               'forward_flops': flops, 'train': {}}
        for step, _ in GPU_STEPS:
            d2l.set_seed(0)
            row['train'][step] = _train_rate(make_net(), loader, lr, device, step, warmup, batches, sync)
            if cuda:
                torch.cuda.empty_cache()
        # 启动开销：批量加倍（同样的 bf16 设置）时每秒样本数若接近翻倍，说明瓶颈在逐个启动的小核函数而不是计算
        d2l.set_seed(0)
        big = d2l.TensorLoader(arrays[0], arrays[1], 2 * bs, True, resize, device)
        row['bf16_double_batch'] = _train_rate(make_net(), big, lr, device, 'bf16', warmup, batches // 2 or 1, sync)
        del big
        net = make_net().to(device)
        _eval_rate(net, test_loader, device, sync, True, 2)  # 预热
        row['eval_book'] = _eval_rate(net, test_loader, device, sync, False, eval_batches)
        row['eval_nosync'] = _eval_rate(net, test_loader, device, sync, True, eval_batches)
        result['models'].append(row)
        print('  ', name, {k: round(v) for k, v in row['train'].items()}, flush=True)
        del loader, test_loader, net
    _set_backend_flags('book')
    result['matmul'] = peak_matmul_flops(device, sync, matmul_n)
    result['matmul_n'] = matmul_n
    return result
