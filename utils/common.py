"""与框架无关的小工具：``Timer``、``Accumulator``、标签名、结果检查。"""
import time

import numpy as np

from .data import TEXT_LABELS, TEXT_LABELS_ZH

__all__ = ['Timer', 'Accumulator', 'get_fashion_mnist_labels', 'check_ch3_results']


class Timer:
    """记录多次运行时间"""
    def __init__(self):
        self.times = []
        self.start()

    def start(self):
        """启动计时器"""
        self.tik = time.perf_counter()

    def stop(self):
        """停止计时器并将时间记录在列表中"""
        self.times.append(time.perf_counter() - self.tik)
        return self.times[-1]

    def avg(self):
        """返回平均时间"""
        return sum(self.times) / len(self.times)

    def sum(self):
        """返回时间总和"""
        return sum(self.times)

    def cumsum(self):
        """返回累计时间"""
        return np.array(self.times).cumsum().tolist()


class Accumulator:
    """在 n 个变量上累加"""
    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]


def get_fashion_mnist_labels(labels, lang='en'):
    """返回 Fashion-MNIST 数据集的文本标签（lang='zh' 时为中文）"""
    text_labels = TEXT_LABELS_ZH if lang == 'zh' else TEXT_LABELS
    return [text_labels[int(i)] for i in labels]


def check_ch3_results(train_loss, train_acc, test_acc, min_acc=0.7, max_loss=0.5):
    """像原书那样检查训练结果：损失过大或精度过低时大声报错"""
    if not train_loss < max_loss:
        raise AssertionError(f'训练损失 {train_loss:.4f} 不低于 {max_loss}：训练出了问题')
    if not min_acc < train_acc <= 1:
        raise AssertionError(f'训练精度 {train_acc:.4f} 不在 ({min_acc}, 1] 内：训练出了问题')
    if not min_acc < test_acc <= 1:
        raise AssertionError(f'测试精度 {test_acc:.4f} 不在 ({min_acc}, 1] 内：训练出了问题')
