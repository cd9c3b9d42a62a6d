"""utils.mxnet / utils.torch / utils.plot 的单元测试：加载器、绘图、小规模训练。"""
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_utils_is_light():
    code = ('import sys, utils, utils.data, utils.plot, utils.common; '
            'bad = [m for m in ("mxnet", "torch") if m in sys.modules]; '
            'assert not bad, bad')
    subprocess.run([sys.executable, '-c', code], cwd=ROOT, check=True)


def test_cjk_font_found_and_chinese_renders_without_missing_glyphs():
    import warnings
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt
    from utils import plot
    assert plot.CJK_FONT is not None, '没有找到中文字体：sudo apt-get install fonts-noto-cjk'
    fig, ax = plt.subplots()
    ax.set_title('训练损失与测试精度')
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # “Glyph ... missing from font” 是 UserWarning
        fig.canvas.draw()
    plt.close(fig)


def test_labels():
    from utils.common import get_fashion_mnist_labels
    assert get_fashion_mnist_labels([0, 9]) == ['t-shirt', 'ankle boot']
    assert get_fashion_mnist_labels(np.array([1, 8]), lang='zh') == ['裤子', '包']


def test_check_ch3_results_fails_loudly():
    from utils.common import check_ch3_results
    check_ch3_results(0.45, 0.85, 0.83)
    with pytest.raises(AssertionError, match='测试精度'):
        check_ch3_results(0.45, 0.85, 0.5)
    with pytest.raises(AssertionError, match='训练损失'):
        check_ch3_results(0.9, 0.85, 0.83)


def _final_line(text):
    lines = re.findall(r'^loss ([\d.]+), train acc ([\d.]+), test acc ([\d.]+)$', text, re.M)
    return tuple(map(float, lines[-1]))


def _epoch_losses(text):
    return [float(x) for x in re.findall(r'^epoch \d+, loss ([\d.]+),', text, re.M)]


# ------------------------------------------------------------ MXNet
def test_mxnet_loader_batches():
    from utils import mxnet as d2l
    train_iter, test_iter = d2l.load_data_fashion_mnist(256)
    assert len(train_iter) == 235 and len(test_iter) == 40
    X, y = next(iter(train_iter))
    assert X.shape == (256, 1, 28, 28)
    assert X.dtype == np.float32
    assert 0 <= float(X.min()) and float(X.max()) <= 1
    assert y.shape == (256,)
    n = sum(y.shape[0] for _, y in test_iter)
    assert n == 10000
    train_iter, _ = d2l.load_data_fashion_mnist(32, resize=64, limit=100)
    X, _ = next(iter(train_iter))
    assert X.shape == (32, 1, 64, 64)
    assert len(train_iter) == 4


def test_mxnet_seed_makes_shuffle_reproducible():
    from utils import mxnet as d2l
    train_iter, _ = d2l.load_data_fashion_mnist(16, limit=200)
    d2l.set_seed(3)
    a = next(iter(train_iter))[1].asnumpy()
    d2l.set_seed(3)
    b = next(iter(train_iter))[1].asnumpy()
    np.testing.assert_array_equal(a, b)


def test_mxnet_linear_regression_helpers():
    from utils import mxnet as d2l
    from mxnet import autograd, np as mnp
    d2l.set_seed(0)
    true_w, true_b = mnp.array([2, -3.4]), 4.2
    features, labels = d2l.synthetic_data(true_w, true_b, 1000)
    w, b = mnp.zeros((2, 1)), mnp.zeros(1)
    w.attach_grad()
    b.attach_grad()
    data_iter = d2l.load_array((features, labels), 10)
    for _ in range(3):
        for X, y in data_iter:
            with autograd.record():
                l = d2l.squared_loss(d2l.linreg(X, w, b), y)
            l.backward()
            d2l.sgd([w, b], 0.03, X.shape[0])
    assert float(abs(true_w - w.reshape(true_w.shape)).max()) < 0.01
    assert abs(true_b - float(b[0])) < 0.01


def test_mxnet_corr2d():
    from utils import mxnet as d2l
    from mxnet import np as mnp
    X = mnp.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
    K = mnp.array([[0.0, 1.0], [2.0, 3.0]])
    assert d2l.corr2d(X, K).tolist() == [[19.0, 25.0], [37.0, 43.0]]


def test_mxnet_train_ch6_loss_goes_down(capsys):
    from mxnet.gluon import nn
    from utils import mxnet as d2l
    d2l.set_seed(0)
    net = nn.Sequential()
    net.add(nn.Dense(64, activation='relu'), nn.Dense(10))
    train_iter, test_iter = d2l.load_data_fashion_mnist(100, limit=3000)
    d2l.train_ch6(net, train_iter, test_iter, 3, 0.5, d2l.try_gpu())
    out = capsys.readouterr().out
    losses = _epoch_losses(out)
    assert len(losses) == 3 and losses[-1] < losses[0]
    _, _, test_acc = _final_line(out)
    assert test_acc > 0.6
    assert re.search(r'examples/sec on cpu', out)


def test_mxnet_train_ch3_checks_results(capsys):
    from mxnet import gluon, init
    from mxnet.gluon import nn
    from utils import mxnet as d2l
    d2l.set_seed(0)
    net = nn.Sequential()
    net.add(nn.Dense(10))
    net.initialize(init.Normal(sigma=0.01))
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1})
    train_iter, test_iter = d2l.load_data_fashion_mnist(64, limit=1000)
    # 1000 个样本、2 个迭代周期达不到原书的标准：train_ch3 必须报错
    with pytest.raises(AssertionError):
        d2l.train_ch3(net, train_iter, test_iter, loss, 2, trainer)


# ------------------------------------------------------------ PyTorch
def test_torch_loader_matches_textbook_pil_pipeline():
    import torch
    from PIL import Image
    from torchvision import transforms
    from utils import data, torch as d2l
    X_train, y_train, _, _ = data.load_fashion_mnist()
    loader = d2l.TensorLoader(X_train[:64], y_train[:64], 64, False, resize=96, device='cpu')
    X, y = next(iter(loader))
    assert X.shape == (64, 1, 96, 96) and X.dtype == torch.float32 and y.dtype == torch.int64
    trans = transforms.Compose([transforms.Resize(96), transforms.ToTensor()])
    ref = torch.stack([trans(Image.fromarray(img)) for img in X_train[:64]])
    assert ref.shape == X.shape
    # 同一批图像，只差插值方法（PIL 带抗锯齿，F.interpolate 不带）
    assert float((X - ref).abs().mean()) < 0.02
    assert torch.equal(y, torch.from_numpy(y_train[:64]))
    loader = d2l.TensorLoader(X_train[:10], y_train[:10], 4, False, device='cpu')
    X, _ = next(iter(loader))
    assert torch.equal(X, torch.from_numpy(X_train[:4]).float().unsqueeze(1) / 255)


def test_torch_loader_full_and_limited():
    from utils import torch as d2l
    train_iter, test_iter = d2l.load_data_fashion_mnist(256)
    assert len(train_iter) == 235 and len(test_iter) == 40
    train_iter, test_iter = d2l.load_data_fashion_mnist(100, resize=32, limit=300)
    X, y = next(iter(train_iter))
    assert tuple(X.shape) == (100, 1, 32, 32) and len(train_iter) == 3 and len(test_iter) == 3
    assert d2l.try_gpu().type in ('cpu', 'cuda')
    assert len(d2l.try_all_gpus()) >= 1


def test_torch_train_ch6_loss_goes_down(capsys):
    from torch import nn
    from utils import torch as d2l
    d2l.set_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    train_iter, test_iter = d2l.load_data_fashion_mnist(100, limit=3000, device="cpu")
    d2l.train_ch6(net, train_iter, test_iter, 5, 0.5, d2l.try_gpu())
    out = capsys.readouterr().out
    losses = _epoch_losses(out)
    assert len(losses) == 5 and losses[-1] < losses[0]
    assert _final_line(out)[2] > 0.6
    assert 'training on' in out and 'examples/sec on' in out


def test_torch_corr2d_and_linreg():
    import torch
    from utils import torch as d2l
    X = torch.arange(9.0).reshape(3, 3)
    K = torch.arange(4.0).reshape(2, 2)
    assert d2l.corr2d(X, K).tolist() == [[19.0, 25.0], [37.0, 43.0]]
    d2l.set_seed(0)
    X, y = d2l.synthetic_data(torch.tensor([2, -3.4]), 4.2, 100)
    assert tuple(X.shape) == (100, 2) and tuple(y.shape) == (100, 1)
