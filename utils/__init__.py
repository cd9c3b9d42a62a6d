"""本书的辅助函数包。

``import utils`` 只导入标准库和 numpy 依赖的轻量模块，不导入 MXNet 或 PyTorch；
框架相关的函数分别在 ``utils.mxnet`` 与 ``utils.torch`` 中::

    from utils import mxnet as d2l   # 第 1～5 章
    from utils import torch as d2l   # 第 6 章
"""

__all__ = ['data', 'plot', 'mxnet', 'torch']
