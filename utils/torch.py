"""笔记中可复用的 PyTorch 辅助函数（第 6 章）：``from utils import torch as d2l``。

与 ``utils.mxnet`` 同名。数据层返回 numpy 的 uint8 数组；这里的加载器把它们变成张量：
有 GPU 时整个数据集留在显存里，每个小批量在 GPU 上用 ``F.interpolate`` 调整大小，
不做逐个样本的 PIL 转换。numpy 1.23 与 numpy 2 均可。
"""
import random

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import data as _data
from .common import Accumulator, Timer, check_ch3_results, full_scale, get_fashion_mnist_labels
from .plot import Animator, plot, set_axes, set_figsize, show_images, to_numpy, use_png_display

__all__ = ['Timer', 'Accumulator', 'Animator', 'plot', 'set_axes', 'set_figsize',
           'show_images', 'to_numpy', 'use_png_display', 'get_fashion_mnist_labels', 'full_scale', 'set_seed', 'synthetic_data',
           'linreg', 'squared_loss', 'sgd', 'load_array', 'TensorLoader',
           'load_data_fashion_mnist', 'accuracy', 'evaluate_accuracy', 'evaluate_loss',
           'train_epoch_ch3', 'train_ch3', 'predict_ch3', 'try_gpu', 'try_all_gpus',
           'corr2d', 'evaluate_accuracy_gpu', 'train_ch6', 'model_stats']


def set_seed(seed=0):
    """固定 Python、NumPy 和 PyTorch 的随机数种子，让重新运行得到相同的结果"""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # 也设置所有 GPU 的种子


def synthetic_data(w, b, num_examples):
    """生成 y = Xw + b + 噪声"""
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


def linreg(X, w, b):
    """线性回归模型"""
    return torch.matmul(X, w) + b


def squared_loss(y_hat, y):
    """均方损失"""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr, batch_size):
    """小批量随机梯度下降"""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def load_array(data_arrays, batch_size, is_train=True):
    """构造一个 PyTorch 数据迭代器"""
    dataset = torch.utils.data.TensorDataset(*data_arrays)
    return torch.utils.data.DataLoader(dataset, batch_size, shuffle=is_train)


def try_gpu(i=0):
    """如果存在，则返回 gpu(i)，否则返回 cpu()"""
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f'cuda:{i}')
    return torch.device('cpu')


def try_all_gpus():
    """返回所有可用的 GPU，如果没有 GPU，则返回 [cpu()]"""
    devices = [torch.device(f'cuda:{i}') for i in range(torch.cuda.device_count())]
    return devices if devices else [torch.device('cpu')]


class TensorLoader:
    """从 uint8 图像张量按小批量取数据：float32、除以 255、(批量, 1, 高, 宽)，需要时调整大小

    图像和标签放在 ``device`` 上（有 GPU 时即显存），打乱、取批量、插值都在那里完成。
    """
    def __init__(self, images, labels, batch_size, shuffle, resize=None, device=None):
        device = torch.device('cpu') if device is None else torch.device(device)
        self.images = torch.from_numpy(np.ascontiguousarray(images)).to(device)
        self.labels = torch.from_numpy(np.asarray(labels, dtype=np.int64)).to(device)
        self.batch_size, self.shuffle, self.device = batch_size, shuffle, device
        if resize is not None and isinstance(resize, int):
            resize = (resize, resize)
        self.resize = resize

    def __len__(self):
        return (len(self.labels) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        n = len(self.labels)
        if self.shuffle:  # 用 NumPy 的随机数打乱，set_seed 后在 CPU 与 GPU 上顺序相同
            order = torch.from_numpy(np.random.permutation(n)).to(self.device)
        else:
            order = torch.arange(n, device=self.device)
        for i in range(0, n, self.batch_size):
            idx = order[i: i + self.batch_size]
            X = self.images[idx].unsqueeze(1).float().div_(255)
            if self.resize is not None and tuple(X.shape[-2:]) != tuple(self.resize):
                X = F.interpolate(X, size=self.resize, mode='bilinear',
                                  align_corners=False, antialias=False)
            yield X, self.labels[idx]


def load_data_fashion_mnist(batch_size, resize=None, limit=None, device=None):
    """返回 Fashion-MNIST 训练集和测试集的数据迭代器

    resize：把图像调整到 resize×resize（或 (高, 宽)）；
    limit：只取训练集和测试集各自的前 limit 个样本（用于缩减规模的演示与测试）；
    device：数据存放的设备，默认 try_gpu()，即有 GPU 时整个数据集放在显存里。
    """
    X_train, y_train, X_test, y_test = _data.load_fashion_mnist()
    if limit is not None:
        X_train, y_train = X_train[:limit], y_train[:limit]
        X_test, y_test = X_test[:limit], y_test[:limit]
    device = try_gpu() if device is None else device
    return (TensorLoader(X_train, y_train, batch_size, True, resize, device),
            TensorLoader(X_test, y_test, batch_size, False, resize, device))


def accuracy(y_hat, y):
    """计算预测正确的数量"""
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def evaluate_accuracy(net, data_iter):
    """计算在指定数据集上模型的精度"""
    if isinstance(net, torch.nn.Module):
        net.eval()  # 将模型设置为评估模式
    metric = Accumulator(2)  # 正确预测数、预测总数
    with torch.no_grad():
        for X, y in data_iter:
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def evaluate_loss(net, data_iter, loss):
    """评估给定数据集上模型的损失"""
    metric = Accumulator(2)  # 损失的总和，样本数量
    with torch.no_grad():
        for X, y in data_iter:
            out = net(X)
            y = y.reshape(out.shape)
            l = loss(out, y)
            metric.add(l.sum(), l.numel())
    return metric[0] / metric[1]


def train_epoch_ch3(net, train_iter, loss, updater):
    """训练模型一个迭代周期（定义见第 2 章）"""
    if isinstance(net, torch.nn.Module):
        net.train()
    # 训练损失总和、训练精度总和、样本数
    metric = Accumulator(3)
    for X, y in train_iter:
        y_hat = net(X)
        l = loss(y_hat, y)
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.mean().backward()
            updater.step()
        else:
            l.sum().backward()
            updater(X.shape[0])
        metric.add(float(l.sum().detach()), accuracy(y_hat, y), y.numel())
    return metric[0] / metric[2], metric[1] / metric[2]


def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
    """训练模型（定义见第 2 章）"""
    animator = Animator(xlabel='epoch', xlim=[1, num_epochs], ylim=[0.3, 0.9],
                        legend=['train loss', 'train acc', 'test acc'])
    for epoch in range(num_epochs):
        train_metrics = train_epoch_ch3(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
        animator.add(epoch + 1, train_metrics + (test_acc,))
    train_loss, train_acc = train_metrics
    print(f'loss {train_loss:.3f}, train acc {train_acc:.3f}, test acc {test_acc:.3f}')
    check_ch3_results(train_loss, train_acc, test_acc)


def predict_ch3(net, test_iter, n=6):
    """预测标签（定义见第 2 章）"""
    for X, y in test_iter:
        break
    trues = get_fashion_mnist_labels(y.cpu())
    preds = get_fashion_mnist_labels(net(X).argmax(axis=1).cpu())
    titles = [true + '\n' + pred for true, pred in zip(trues, preds)]
    show_images(X[0:n].reshape((n, 28, 28)), 1, n, titles=titles[0:n])


def corr2d(X, K):
    """计算二维互相关运算"""
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y


def evaluate_accuracy_gpu(net, data_iter, device=None):
    """使用 GPU 计算模型在数据集上的精度"""
    if isinstance(net, nn.Module):
        net.eval()  # 设置为评估模式
        if not device:
            device = next(iter(net.parameters())).device
    # 正确预测的数量，总预测的数量
    metric = Accumulator(2)
    with torch.no_grad():
        for X, y in data_iter:
            X, y = X.to(device), y.to(device)
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]


def train_ch6(net, train_iter, test_iter, num_epochs, lr, device):
    """用 GPU 训练模型（没有 GPU 时用 CPU），打印每个迭代周期的结果"""
    def init_weights(m):
        if type(m) == nn.Linear or type(m) == nn.Conv2d:
            nn.init.xavier_uniform_(m.weight)
    net.apply(init_weights)
    print('training on', device)
    net.to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss = nn.CrossEntropyLoss()
    animator = Animator(xlabel='epoch', xlim=[0, num_epochs],
                        legend=['train loss', 'train acc', 'test acc'])
    timer, num_batches = Timer(), len(train_iter)
    for epoch in range(num_epochs):
        # 训练损失之和，训练精度之和，样本数
        metric = Accumulator(3)
        net.train()
        for i, (X, y) in enumerate(train_iter):
            timer.start()
            optimizer.zero_grad()
            X, y = X.to(device), y.to(device)
            y_hat = net(X)
            l = loss(y_hat, y)
            l.backward()
            optimizer.step()
            with torch.no_grad():
                metric.add(l * X.shape[0], accuracy(y_hat, y), X.shape[0])
            timer.stop()
            train_l = metric[0] / metric[2]
            train_acc = metric[1] / metric[2]
            if (i + 1) % max(num_batches // 5, 1) == 0 or i == num_batches - 1:
                animator.add(epoch + (i + 1) / num_batches, (train_l, train_acc, None))
        test_acc = evaluate_accuracy_gpu(net, test_iter)
        animator.add(epoch + 1, (None, None, test_acc))
        print(f'epoch {epoch + 1}, loss {train_l:.3f}, train acc {train_acc:.3f}, '
              f'test acc {test_acc:.3f}')
    print(f'loss {train_l:.3f}, train acc {train_acc:.3f}, test acc {test_acc:.3f}')
    print(f'{metric[2] * num_epochs / timer.sum():.1f} examples/sec on {str(device)}')


def model_stats(net, input_shape):
    """打印并返回模型的参数个数和每个样本的前向计算量 (参数个数, FLOPs)

    input_shape 是一个样本的形状 (通道, 高, 宽)，即训练时的输入大小。在评估模式下让一个全零的样本
    （批量大小 1）做一次前向传播，用前向钩子统计每个 nn.Conv2d 和 nn.Linear 的乘加次数（MACs）：
    卷积层为 输出元素个数 × (输入通道数 / 分组数) × 卷积核高 × 卷积核宽，全连接层为 输出个数 × 输入个数；
    FLOPs = 2 × MACs。偏置、批量规范化、激活函数、汇聚层和连结的运算都不计入（它们只占很小一部分）。
    参数个数是 net.parameters() 的元素总数，不含批量规范化的移动平均值等缓冲区。
    不消耗随机数，不改变模型的训练/评估模式。打印一行，例如：

        params 61,706 | forward FLOPs per example 833,040 (833.04 K) | input (1, 28, 28)
    """
    params = sum(p.numel() for p in net.parameters())
    macs = []

    def hook(m, inputs, output):
        if isinstance(m, nn.Conv2d):
            k_h, k_w = m.kernel_size
            macs.append(output.numel() // output.shape[0] * (m.in_channels // m.groups) * k_h * k_w)
        else:
            macs.append(output.numel() // output.shape[0] * m.in_features)

    handles = [m.register_forward_hook(hook) for m in net.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    training = net.training
    device = next(iter(net.parameters())).device
    try:
        net.eval()
        with torch.no_grad():
            net(torch.zeros((1, *input_shape), device=device))
    finally:
        net.train(training)
        for h in handles:
            h.remove()
    flops = 2 * sum(macs)
    for unit, scale in (('G', 1e9), ('M', 1e6), ('K', 1e3), ('', 1)):
        if flops >= scale:
            break
    print(f'params {params:,} | forward FLOPs per example {flops:,} ({flops / scale:.2f} {unit})'
          f' | input {tuple(input_shape)}')
    return params, flops
