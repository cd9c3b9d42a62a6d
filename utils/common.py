"""与框架无关的小工具：``Timer``、``Accumulator``、标签名、结果检查、完整/缩减规模的开关。"""
import os
import time

import numpy as np

from .data import TEXT_LABELS, TEXT_LABELS_ZH

__all__ = ['Timer', 'Accumulator', 'get_fashion_mnist_labels', 'check_ch3_results',
           'full_scale', 'SCALE_ENV', 'REDUCED_LABEL']


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


# ------------------------------------------------------------ 完整规模还是缩减规模
SCALE_ENV = 'D2L_SCALE'
REDUCED_LABEL = '缩减规模'
_scale_decisions = []  # 本进程中 full_scale 的每次决定，执行命令据此记录各单元的规模


def full_scale(device=None):
    """慢单元（标签 ``gpu``）按完整规模运行，还是缩减规模？全书只有这一个开关。

    环境变量 ``D2L_SCALE``：``full`` 总是完整规模（维护者在 CPU 上也可以要求），
    ``reduced`` 总是缩减规模（CI），未设置或 ``auto`` 时看 ``device``：GPU 上完整规模，否则缩减。
    缩减规模的单元要在输出的第一行以“缩减规模”开头说明做了什么。
    """
    mode = os.environ.get(SCALE_ENV, 'auto').strip().lower() or 'auto'
    if mode not in ('auto', 'full', 'reduced'):
        raise ValueError(f'{SCALE_ENV} 应为 auto、full 或 reduced，而不是 {mode!r}')
    if mode == 'auto':
        on_gpu = getattr(device, 'type', None) == 'cuda' or getattr(device, 'device_type', None) == 'gpu'
        full = bool(on_gpu)
    else:
        full = mode == 'full'
    _scale_decisions.append('full' if full else 'reduced')
    return full
