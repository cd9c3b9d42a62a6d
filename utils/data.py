"""与框架无关的数据层：查找、下载、校验、解码数据集，返回 numpy 数组。

Fashion-MNIST
    依次在以下位置查找四个 IDX 文件（``.gz`` 或未压缩均可）：

    1. 环境变量 ``FASHION_MNIST_DIR`` 指定的目录；
    2. ``/usr/share/datasets/fashion-mnist``（Debian/Ubuntu 软件包 ``dataset-fashion-mnist``）；
    3. 每个用户的缓存目录 ``$XDG_CACHE_HOME/d2l-notes/fashion-mnist``（默认 ``~/.cache/...``）。

    都没有时从数据集的公开镜像下载到缓存目录。每个文件都按 **解压后内容** 的
    SHA-256 校验（Debian 的文件经过重新压缩，gzip 层面的哈希不同）。下载先写入临时
    文件，校验通过后才改名，所以中断或损坏的下载不会留下以后被信任的文件。解码后的
    数组缓存为 ``.npy``，第二次加载只需读盘。

数据中心（``DATA_HUB``）
    名称 → (URL, SHA-1)。``download(name)`` 先在环境变量 ``D2L_DATA_DIR`` 指定的目录
    （可用 ``os.pathsep`` 分隔多个）和缓存目录中查找，再下载；同样先校验、后改名。
"""
import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

__all__ = ['DataError', 'ChecksumError', 'DATA_HUB', 'FASHION_MNIST_FILES',
           'FASHION_MNIST_MIRRORS', 'TEXT_LABELS', 'TEXT_LABELS_ZH',
           'cache_dir', 'fashion_mnist_dirs', 'load_fashion_mnist', 'download',
           'read_idx']


class DataError(RuntimeError):
    """数据集无法取得或无法使用。"""


class ChecksumError(DataError):
    """文件内容与期望的哈希不符。"""


def cache_dir():
    """每个用户的缓存目录（不在仓库里）。"""
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(Path.home(), '.cache')
    return Path(base) / 'd2l-notes'


# ---------------------------------------------------------------- Fashion-MNIST
# 解压后内容的 SHA-256（与压缩方式无关）与字节数
FASHION_MNIST_FILES = {
    'train-images-idx3-ubyte':
        ('c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888', 47040016),
    'train-labels-idx1-ubyte':
        ('bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9', 60008),
    't10k-images-idx3-ubyte':
        ('5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b', 7840016),
    't10k-labels-idx1-ubyte':
        ('0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34', 10008),
}
FASHION_MNIST_MIRRORS = [
    'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
]
FASHION_MNIST_ENV = 'FASHION_MNIST_DIR'
FASHION_MNIST_SYSTEM_DIR = '/usr/share/datasets/fashion-mnist'

TEXT_LABELS = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat',
               'sandal', 'shirt', 'sneaker', 'bag', 'ankle boot']
TEXT_LABELS_ZH = ['T恤', '裤子', '套衫', '连衣裙', '外套',
                  '凉鞋', '衬衫', '运动鞋', '包', '短靴']

_HOW_TO_PROVIDE = (
    '可以用以下三种方式之一提供数据：\n'
    f'  1. 把四个 IDX 文件（.gz 或解压后的）放进一个目录，并设置环境变量 {FASHION_MNIST_ENV}=该目录；\n'
    '  2. 在 Debian/Ubuntu 上安装软件包：sudo apt-get install dataset-fashion-mnist'
    f'（文件在 {FASHION_MNIST_SYSTEM_DIR}）；\n'
    '  3. 联网后重新运行，文件会下载到缓存目录 {cache}。')

_memory_cache = {}


def fashion_mnist_dirs():
    """按查找顺序列出 Fashion-MNIST 可能所在的目录。"""
    dirs = []
    if os.environ.get(FASHION_MNIST_ENV):
        dirs.append(Path(os.environ[FASHION_MNIST_ENV]))
    dirs.append(Path(FASHION_MNIST_SYSTEM_DIR))
    dirs.append(cache_dir() / 'fashion-mnist')
    return dirs


def _read_maybe_gzip(path):
    """读出文件内容；gzip 文件（按文件头识别）解压。截断的 gzip 文件抛出 ``DataError``。"""
    try:
        raw = Path(path).read_bytes()
        if raw[:2] == b'\x1f\x8b':
            return gzip.decompress(raw)
        return raw
    except (EOFError, OSError, gzip.BadGzipFile, ValueError) as e:
        raise DataError(f'文件 {path} 已损坏或不完整（{type(e).__name__}: {e}）；'
                        '删除它或换一个来源后重试') from e


def _verify(path, content, name):
    sha256, size = FASHION_MNIST_FILES[name]
    actual = hashlib.sha256(content).hexdigest()
    if actual != sha256:
        raise ChecksumError(
            f'校验失败：{path}\n  期望 SHA-256（解压后）：{sha256}\n  实际 SHA-256：{actual}'
            f'（{len(content)} 字节，应为 {size} 字节）\n该文件不会被使用。')


def read_idx(content):
    """把 IDX 格式的字节串解码为 numpy 数组（uint8）。"""
    if len(content) < 4 or content[0] != 0 or content[1] != 0:
        raise DataError('不是 IDX 文件（文件头不对）')
    dtype_code, ndim = content[2], content[3]
    if dtype_code != 0x08:
        raise DataError(f'只支持 uint8 的 IDX 文件，这里是类型 0x{dtype_code:02x}')
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(content[4 + 4 * i: 8 + 4 * i], 'big') for i in range(ndim))
    expected = header + int(np.prod(shape))
    if len(content) != expected:
        raise DataError(f'IDX 文件长度 {len(content)} 与文件头声明的形状 {shape} 不符（应为 {expected}）')
    # 复制一份：frombuffer 得到的数组只读，PyTorch 的 from_numpy 会对此发出警告
    return np.frombuffer(content, dtype=np.uint8, offset=header).reshape(shape).copy()


def _find_local(name):
    """在本地目录中找到并校验文件，返回 (路径, 内容)；找不到返回 None。"""
    errors = []
    for d in fashion_mnist_dirs():
        for candidate in (d / (name + '.gz'), d / name):
            if candidate.is_file():
                content = _read_maybe_gzip(candidate)
                _verify(candidate, content, name)
                return candidate, content
    return None


def _download_to(url, dest, verify):
    """下载 ``url`` 到 ``dest``：先写临时文件，``verify(tmp)`` 通过后再改名。"""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix='.' + dest.name + '.', suffix='.part')
    tmp = Path(tmp)
    try:
        with os.fdopen(fd, 'wb') as f, urllib.request.urlopen(url, timeout=60) as r:
            shutil.copyfileobj(r, f)
        verify(tmp)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


def _download_fashion_mnist(name, mirrors):
    dest = cache_dir() / 'fashion-mnist' / (name + '.gz')
    failures = []
    for mirror in mirrors:
        url = mirror + name + '.gz'
        try:
            def verify(tmp):
                content = _read_maybe_gzip(tmp)
                _verify(url, content, name)
            _download_to(url, dest, verify)
            return dest, _read_maybe_gzip(dest)
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            failures.append(f'{url}: {e}')
    raise DataError(
        f'找不到 Fashion-MNIST 文件 {name}，下载也失败了：\n  ' + '\n  '.join(failures)
        + '\n已查找的目录：' + '、'.join(str(d) for d in fashion_mnist_dirs()) + '\n'
        + _HOW_TO_PROVIDE.format(cache=cache_dir() / 'fashion-mnist'))


def _npy_cache_path(name):
    sha256 = FASHION_MNIST_FILES[name][0]
    return cache_dir() / 'fashion-mnist' / f'{name}.{sha256[:16]}.npy'


def _load_array(name, mirrors):
    cached = _npy_cache_path(name)
    if cached.is_file():
        try:
            arr = np.load(cached, allow_pickle=False)
            expected = FASHION_MNIST_FILES[name][1]
            if arr.dtype == np.uint8 and arr.nbytes + (16 if arr.ndim == 3 else 8) == expected:
                return arr
        except (OSError, ValueError):
            pass
        cached.unlink(missing_ok=True)  # 缓存损坏：丢弃后重新解码
    found = _find_local(name)
    if found is None:
        found = _download_fashion_mnist(name, mirrors)
    arr = read_idx(found[1])
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cached.parent, suffix='.npy.part')
        with os.fdopen(fd, 'wb') as f:
            np.save(f, arr)
        os.replace(tmp, cached)
    except OSError:
        pass  # 缓存写不进去不影响使用
    return arr


def load_fashion_mnist(mirrors=None):
    """返回 ``(X_train, y_train, X_test, y_test)``，图像为 (n, 28, 28) 的 uint8，标签为 int64。

    结果在进程内和磁盘上都会缓存。"""
    mirrors = FASHION_MNIST_MIRRORS if mirrors is None else mirrors
    key = tuple(str(d) for d in fashion_mnist_dirs()) + (str(cache_dir()),)
    if key not in _memory_cache:
        arrays = [_load_array(n, mirrors) for n in
                  ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte',
                   't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')]
        X_train, y_train, X_test, y_test = arrays
        _memory_cache[key] = (X_train, y_train.astype(np.int64), X_test, y_test.astype(np.int64))
    return _memory_cache[key]


# ---------------------------------------------------------------- 数据中心
DATA_URL = 'http://d2l-data.s3-accelerate.amazonaws.com/'
DATA_HUB = {
    'kaggle_house_train': (DATA_URL + 'kaggle_house_pred_train.csv',
                           '585e9cc93e70b39160e7921475f9bcd7d31219ce'),
    'kaggle_house_test': (DATA_URL + 'kaggle_house_pred_test.csv',
                          'fa19780a7b011d9b009e8bff8e99922a8ee2eb90'),
}
DATA_DIR_ENV = 'D2L_DATA_DIR'


def _sha1(path):
    h = hashlib.sha1()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def _hub_dirs():
    dirs = [Path(p) for p in os.environ.get(DATA_DIR_ENV, '').split(os.pathsep) if p]
    dirs.append(cache_dir() / 'data')
    return dirs


def download(name, cache=None):
    """返回 ``DATA_HUB[name]`` 所指文件的本地路径：先找本地副本，再下载，都按 SHA-1 校验。"""
    if name not in DATA_HUB:
        raise DataError(f'数据中心里没有 {name!r}；已有：{", ".join(sorted(DATA_HUB))}')
    url, sha1 = DATA_HUB[name]
    fname = url.rsplit('/', 1)[-1]

    def check(path, source):
        actual = _sha1(path)
        if actual != sha1:
            raise ChecksumError(f'校验失败：{source}\n  期望 SHA-1：{sha1}\n  实际 SHA-1：{actual}\n'
                                '该文件不会被使用。')

    dirs = _hub_dirs() if cache is None else [Path(cache)]
    for d in dirs:
        path = d / fname
        if path.is_file():
            check(path, path)
            return path
    dest = (Path(cache) if cache is not None else cache_dir() / 'data') / fname
    try:
        return _download_to(url, dest, lambda tmp: check(tmp, url))
    except (urllib.error.URLError, OSError, TimeoutError) as e:
        raise DataError(
            f'找不到 {fname}，下载 {url} 也失败了（{e}）。\n已查找的目录：'
            + '、'.join(str(d) for d in dirs) + '\n可以用以下三种方式之一提供数据：\n'
            f'  1. 把文件放进一个目录，并设置环境变量 {DATA_DIR_ENV}=该目录；\n'
            f'  2. 把文件放进缓存目录 {cache_dir() / "data"}；\n'
            '  3. 联网后重新运行，文件会自动下载并校验。') from e
