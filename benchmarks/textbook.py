"""原书（d2l-zh）的数据管道，作为对照组；数据来自同一组 uint8 数组，不下载任何东西。

PyTorch：原书的 ``load_data_fashion_mnist`` 用 ``torchvision.datasets.FashionMNIST``，
它的 ``__getitem__`` 把每个 28×28 uint8 图像变成 PIL 图像，再套上
``transforms.Compose([transforms.Resize(resize), transforms.ToTensor()])``；
``DataLoader(num_workers=get_dataloader_workers())``，原书默认 4 个工作进程。
这里的 ``FashionMNISTPIL`` 做同样的事（不需要下载），工作进程数由调用者给出。

MXNet：原书用 ``gluon.data.vision.FashionMNIST(train=...).transform_first(trans)``，
``trans`` 是 ``gluon.data.vision.transforms`` 的 ``Resize``/``ToTensor``，
``gluon.data.DataLoader(num_workers=get_dataloader_workers())``。这里把同样的数组包成
``ArrayDataset``（形状 (n, 28, 28, 1) 的 uint8，与 Gluon 的 FashionMNIST 一致）。
"""


# ------------------------------------------------------------------ PyTorch
def torch_dataset(images, labels, resize=None):
    import torch
    from PIL import Image
    from torchvision import transforms

    trans = [transforms.ToTensor()]
    if resize:
        trans.insert(0, transforms.Resize(resize))
    trans = transforms.Compose(trans)

    class FashionMNISTPIL(torch.utils.data.Dataset):
        """与 torchvision.datasets.FashionMNIST 相同的逐样本处理：uint8 → PIL → transform"""
        def __len__(self):
            return len(labels)

        def __getitem__(self, i):
            img = Image.fromarray(images[i])  # (28, 28) uint8 → 模式 'L'
            return trans(img), int(labels[i])

    return FashionMNISTPIL()


def torch_loaders(data, batch_size, resize=None, num_workers=2, pin_memory=False, limit=None):
    """原书 PyTorch 版 load_data_fashion_mnist 的等价物（训练集打乱，测试集不打乱）"""
    import torch
    X_train, y_train, X_test, y_test = data
    if limit is not None:
        X_train, y_train, X_test, y_test = X_train[:limit], y_train[:limit], X_test[:limit], y_test[:limit]
    kw = dict(num_workers=num_workers, pin_memory=pin_memory)
    return (torch.utils.data.DataLoader(torch_dataset(X_train, y_train, resize), batch_size,
                                        shuffle=True, **kw),
            torch.utils.data.DataLoader(torch_dataset(X_test, y_test, resize), batch_size,
                                        shuffle=False, **kw))


# ------------------------------------------------------------------ MXNet
def gluon_loaders(data, batch_size, resize=None, num_workers=2, limit=None):
    """原书 MXNet 版 load_data_fashion_mnist 的等价物（Gluon 的 transforms 与 DataLoader）"""
    from mxnet import gluon, np
    from mxnet.gluon.data.vision import transforms
    X_train, y_train, X_test, y_test = data
    if limit is not None:
        X_train, y_train, X_test, y_test = X_train[:limit], y_train[:limit], X_test[:limit], y_test[:limit]
    trans = [transforms.ToTensor()]
    if resize:
        trans.insert(0, transforms.Resize(resize))
    trans = transforms.Compose(trans)

    def dataset(X, y):
        return gluon.data.ArrayDataset(np.array(X[..., None], dtype='uint8'),
                                       np.array(y, dtype='int32')).transform_first(trans)

    return (gluon.data.DataLoader(dataset(X_train, y_train), batch_size, shuffle=True,
                                  num_workers=num_workers),
            gluon.data.DataLoader(dataset(X_test, y_test), batch_size, shuffle=False,
                                  num_workers=num_workers))


# ------------------------------------------------------------------ 计时
class TimedIter:
    """包住一个数据迭代器：记录每个迭代周期的墙钟时间（包括取数据和使用者处理每个批量的时间）。

    ``d2l.train_ch6`` 打印的 examples/sec 只计训练步骤、不计取数据，所以另用它测量整个周期。
    """
    def __init__(self, it, max_batches=None):
        self.it, self.max_batches = it, max_batches
        self.epochs = []  # [(样本数, 秒)]

    def __len__(self):
        n = len(self.it)
        return n if self.max_batches is None else min(n, self.max_batches)

    def __iter__(self):
        import time
        start, n = time.perf_counter(), 0
        for i, (X, y) in enumerate(self.it):
            n += X.shape[0]
            yield X, y
            if self.max_batches is not None and i + 1 >= self.max_batches:
                break
        self.epochs.append((n, time.perf_counter() - start))
