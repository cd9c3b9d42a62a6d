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
def bench_gpu(workers=4, batches=60, warmup=5, device=None, only=None):
    """每个第 6 章模型：本书加载器（数据在显存，F.interpolate）与原书管道（PIL + DataLoader），
    同一块 GPU、同一个训练步骤，计时 ``batches`` 个批量（先跑 ``warmup`` 个批量预热）。"""
    import torch
    from torch import nn
    from utils import data
    from utils import torch as d2l
    import models
    import textbook
    if device is None:  # device 只为在 CPU 上试运行这段代码而设
        if not torch.cuda.is_available():
            return [{'skipped': '没有可用的 CUDA 设备'}]
        device = torch.device('cuda:0')
    device = torch.device(device)
    cuda = device.type == 'cuda'

    def sync():
        if cuda:
            torch.cuda.synchronize()

    torch.backends.cudnn.benchmark = True
    arrays = data.load_fashion_mnist()
    out = []
    for name, make_net, resize, batch_size, lr in models.CH6[:only]:
        res = {}
        for side in ('book', 'textbook', 'book2', 'textbook2'):  # A B A B，取中位数
            d2l.set_seed(0)
            if side.startswith('book'):
                loader = d2l.TensorLoader(arrays[0], arrays[1], batch_size, True, resize, device)
            else:
                loader = textbook.torch_loaders(arrays, batch_size, resize, workers, pin_memory=cuda)[0]
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
        out.append({'model': name, 'resize': resize, 'batch_size': batch_size, 'book': book,
                    'textbook': text, 'ratio': book / text, 'device': torch.cuda.get_device_name(device) if cuda else str(device),
                    'workers': workers, 'batches': batches})
    return out
