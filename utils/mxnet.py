"""笔记中可复用的 MXNet 辅助函数（第 1～5 章）：``from utils import mxnet as d2l``。

函数名与笔记一致。每个函数第一次出现的那一节会在笔记本里完整展示它的定义，
``tests/test_helpers_match.py`` 保证两处的代码相同。
"""
import random

import numpy as onp
from mxnet import autograd, gluon, init, np, npx
import mxnet as mx

from . import data as _data
from .common import Accumulator, Timer, check_ch3_results, full_scale, get_fashion_mnist_labels
from .plot import Animator, plot, set_axes, set_figsize, show_images, to_numpy, use_png_display

npx.set_np()

__all__ = ['Timer', 'Accumulator', 'Animator', 'plot', 'set_axes', 'set_figsize',
           'show_images', 'to_numpy', 'use_png_display', 'get_fashion_mnist_labels', 'full_scale', 'set_seed', 'synthetic_data',
           'linreg', 'squared_loss', 'sgd', 'load_array', 'ArrayLoader',
           'load_data_fashion_mnist', 'accuracy', 'evaluate_accuracy', 'evaluate_loss',
           'train_epoch_ch3', 'train_ch3', 'predict_ch3', 'try_gpu', 'try_all_gpus',
           'corr2d', 'evaluate_accuracy_gpu', 'train_ch6', 'model_stats', 'np', 'npx']


def set_seed(seed=0):
    """固定 Python、NumPy 和 MXNet 的随机数种子，让重新运行得到相同的结果"""
    random.seed(seed)
    onp.random.seed(seed)
    mx.random.seed(seed)


# ------------------------------------------------------------ 2.1 线性回归
def synthetic_data(w, b, num_examples):
    """生成 y = Xw + b + 噪声"""
    X = np.random.normal(0, 1, (num_examples, len(w)))
    y = np.dot(X, w) + b
    y += np.random.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


def linreg(X, w, b):
    """线性回归模型"""
    return np.dot(X, w) + b


def squared_loss(y_hat, y):
    """均方损失"""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr, batch_size):
    """小批量随机梯度下降"""
    for param in params:
        param[:] = param - lr * param.grad / batch_size


def load_array(data_arrays, batch_size, is_train=True):
    """构造一个 Gluon 数据迭代器"""
    dataset = gluon.data.ArrayDataset(*data_arrays)
    return gluon.data.DataLoader(dataset, batch_size, shuffle=is_train)


# ------------------------------------------------------------ 2.2 Fashion-MNIST
class ArrayLoader:
    """从内存中的 uint8 图像数组按小批量取数据：转为 float32、除以 255、(批量, 1, 高, 宽)

    不做逐个样本的 PIL 转换，也不需要工作进程；``resize`` 时对整个小批量做双线性插值。
    """
    def __init__(self, images, labels, batch_size, shuffle, resize=None, ctx=None):
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle, self.resize = batch_size, shuffle, resize
        self.ctx = ctx if ctx is not None else npx.cpu()

    def __len__(self):
        return (len(self.labels) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        n = len(self.labels)
        order = onp.random.permutation(n) if self.shuffle else onp.arange(n)
        for i in range(0, n, self.batch_size):
            idx = order[i: i + self.batch_size]
            X = np.array(self.images[idx], dtype='float32', ctx=self.ctx) / 255
            X = X.reshape(len(idx), 1, *self.images.shape[1:])
            if self.resize:
                h, w = (self.resize, self.resize) if isinstance(self.resize, int) else self.resize
                X = npx.image.resize(X.transpose(0, 2, 3, 1), (w, h)).transpose(0, 3, 1, 2)
            yield X, np.array(self.labels[idx], dtype='int32', ctx=self.ctx)


def load_data_fashion_mnist(batch_size, resize=None, limit=None):
    """返回 Fashion-MNIST 训练集和测试集的数据迭代器

    limit：只取训练集和测试集各自的前 limit 个样本（用于缩减规模的演示与测试）。
    """
    X_train, y_train, X_test, y_test = _data.load_fashion_mnist()
    if limit is not None:
        X_train, y_train = X_train[:limit], y_train[:limit]
        X_test, y_test = X_test[:limit], y_test[:limit]
    return (ArrayLoader(X_train, y_train, batch_size, True, resize),
            ArrayLoader(X_test, y_test, batch_size, False, resize))


# ------------------------------------------------------------ 2.2.3 softmax 回归
def accuracy(y_hat, y):
    """计算预测正确的数量"""
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.astype(y.dtype) == y
    return float(cmp.astype(y.dtype).sum())


def evaluate_accuracy(net, data_iter):
    """计算在指定数据集上模型的精度"""
    metric = Accumulator(2)  # 正确预测数、预测总数
    for X, y in data_iter:
        metric.add(accuracy(net(X), y), y.size)
    return metric[0] / metric[1]


def evaluate_loss(net, data_iter, loss):
    """评估给定数据集上模型的损失"""
    metric = Accumulator(2)  # 损失的总和，样本数量
    for X, y in data_iter:
        l = loss(net(X), y)
        metric.add(l.sum(), l.size)
    return metric[0] / metric[1]


def train_epoch_ch3(net, train_iter, loss, updater):
    """训练模型一个迭代周期（定义见第 2 章）"""
    # 训练损失总和、训练精度总和、样本数
    metric = Accumulator(3)
    if isinstance(updater, gluon.Trainer):
        updater = updater.step
    for X, y in train_iter:
        # 计算梯度并更新参数
        with autograd.record():
            y_hat = net(X)
            l = loss(y_hat, y)
        l.backward()
        updater(X.shape[0])
        metric.add(float(l.sum()), accuracy(y_hat, y), y.size)
    # 返回训练损失和训练精度
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
    trues = get_fashion_mnist_labels(y)
    preds = get_fashion_mnist_labels(net(X).argmax(axis=1))
    titles = [true + '\n' + pred for true, pred in zip(trues, preds)]
    show_images(X[0:n].reshape((n, 28, 28)), 1, n, titles=titles[0:n])


# ------------------------------------------------------------ 5 卷积神经网络
def try_gpu(i=0):
    """如果存在，则返回 gpu(i)，否则返回 cpu()"""
    return npx.gpu(i) if npx.num_gpus() >= i + 1 else npx.cpu()


def try_all_gpus():
    """返回所有可用的 GPU，如果没有 GPU，则返回 [cpu()]"""
    devices = [npx.gpu(i) for i in range(npx.num_gpus())]
    return devices if devices else [npx.cpu()]


def corr2d(X, K):
    """计算二维互相关运算"""
    h, w = K.shape
    Y = np.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i: i + h, j: j + w] * K).sum()
    return Y


def evaluate_accuracy_gpu(net, data_iter, device=None):
    """使用 GPU 计算模型在数据集上的精度"""
    if not device:  # 查询第一个参数所在的第一个设备
        device = list(net.collect_params().values())[0].list_ctx()[0]
    metric = Accumulator(2)  # 正确预测的数量，总预测的数量
    for X, y in data_iter:
        X, y = X.as_in_ctx(device), y.as_in_ctx(device)
        metric.add(accuracy(net(X), y), y.size)
    return metric[0] / metric[1]


def train_ch6(net, train_iter, test_iter, num_epochs, lr, device=None):
    """用 GPU 训练模型（没有 GPU 时用 CPU），打印每个迭代周期的结果"""
    device = device if device is not None else try_gpu()
    net.initialize(force_reinit=True, ctx=device, init=init.Xavier())
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': lr})
    animator = Animator(xlabel='epoch', xlim=[0, num_epochs],
                        legend=['train loss', 'train acc', 'test acc'])
    timer, num_batches = Timer(), len(train_iter)
    for epoch in range(num_epochs):
        # 训练损失之和，训练精度之和，样本数
        metric = Accumulator(3)
        for i, (X, y) in enumerate(train_iter):
            timer.start()
            # 下面是与“d2l.train_epoch_ch3”的主要不同
            X, y = X.as_in_ctx(device), y.as_in_ctx(device)
            with autograd.record():
                y_hat = net(X)
                l = loss(y_hat, y)
            l.backward()
            trainer.step(X.shape[0])
            metric.add(float(l.sum()), accuracy(y_hat, y), X.shape[0])
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
    """打印并返回模型的参数个数和每个样本的前向计算量 (参数个数, FLOPs)：与 utils.torch.model_stats 的计数规则相同

    只统计 nn.Conv2D 和 nn.Dense 的乘加次数（MACs），FLOPs = 2 × MACs；参数个数不含 grad_req 为 'null' 的
    移动平均值。网络要先初始化（可以是延后初始化）；在预测模式下让一个全零的样本通过网络，不改变移动平均值。
    """
    macs = []

    def hook(block, inputs, output):
        w = block.weight.data()
        if isinstance(block, gluon.nn.Conv2D):
            # 权重形状：(输出通道数, 输入通道数 / 分组数, 卷积核高, 卷积核宽)
            macs.append(output.size // output.shape[0] * w.shape[1] * w.shape[2] * w.shape[3])
        else:
            # 权重形状：(输出个数, 输入个数)
            macs.append(output.size // output.shape[0] * w.shape[1])

    handles = []

    def register(block):
        if isinstance(block, (gluon.nn.Conv2D, gluon.nn.Dense)):
            handles.append(block.register_forward_hook(hook))

    net.apply(register)
    try:
        net(np.zeros((1, *input_shape)))
    finally:
        for h in handles:
            h.detach()
    # 前向传播之后，延后初始化的参数才有形状
    params = sum(p.data().size for p in net.collect_params().values() if p.grad_req != 'null')
    flops = 2 * sum(macs)
    for unit, scale in (('G', 1e9), ('M', 1e6), ('K', 1e3), ('', 1)):
        if flops >= scale:
            break
    print(f'params {params:,} | forward FLOPs per example {flops:,} ({flops / scale:.2f} {unit})'
          f' | input {tuple(input_shape)}')
    return params, flops
