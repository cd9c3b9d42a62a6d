"""与框架无关的数据层：查找、下载、校验、解码数据集，返回 numpy 数组。

校验只有一条路径：每个候选文件（用户目录里的、系统软件包里的、仓库里的、缓存里的、刚下载的）
都先完整读出并按哈希校验，通过了才使用。用不了的文件按原因分两类说明，然后换下一个来源：

* **读不了**（例如权限不足）：说明原因，不说它“损坏”；
* **已损坏**（gzip 解压失败、哈希或形状不符）：指出文件；它在本书自己的缓存目录里就删除并
  重新取得，否则请用户删除或替换它。

最后用上了后面的来源时，发出一条警告列出被跳过的文件；所有来源都用不了时抛出 ``DataError``
（其中有文件已损坏时为其子类 ``ChecksumError``），列出每个来源的问题和提供数据的办法。
写入缓存的文件（下载的、解码的）都已校验过；先写同目录的临时文件再改名，失败时删除临时文件；
新文件的权限是 0o644 去掉 umask 中的位（与普通新建文件相同），其他用户也能读。

Fashion-MNIST
    依次在以下位置查找四个 IDX 文件（``.gz`` 或未压缩均可）：

    1. 环境变量 ``FASHION_MNIST_DIR`` 指定的目录（设置了但不是已存在的目录时报错）；
    2. ``/usr/share/datasets/fashion-mnist``（Debian/Ubuntu 软件包 ``dataset-fashion-mnist``）；
    3. 每个用户的缓存目录 ``$XDG_CACHE_HOME/d2l-notes/fashion-mnist``（默认 ``~/.cache/...``）。

    都没有时依次从数据集的公开镜像下载到缓存目录。每个文件都按 **解压后内容** 的 SHA-256
    校验（Debian 的文件经过重新压缩，gzip 层面的哈希不同）。解码后的数组缓存为 ``.npy``；
    再次加载时读出数组，由它的形状重建 IDX 文件头，按同一个 SHA-256 校验，所以形状、类型和
    每个字节都在校验之内（47 MB 的训练图像约 0.03 s），不符就删除并重建。

数据中心（``DATA_HUB``）
    名称 → (URL, SHA-1)。``download(name)`` 依次查找：环境变量 ``D2L_DATA_DIR`` 指定的目录
    （可用 ``os.pathsep`` 分隔多个；设置了但不存在时报错）、仓库自带的 ``data/`` 目录
    （``utils`` 包旁边；克隆仓库后全书离线可用）、缓存目录 ``$XDG_CACHE_HOME/d2l-notes/data``；
    都没有时下载到缓存目录。全部按 SHA-1 校验。
"""
import contextlib
import gzip
import hashlib
import http.client
import os
import secrets
import urllib.request
import warnings
import zlib
from pathlib import Path

import numpy as np

__all__ = ['DataError', 'ChecksumError', 'DATA_HUB', 'FASHION_MNIST_FILES',
           'FASHION_MNIST_MIRRORS', 'TEXT_LABELS', 'TEXT_LABELS_ZH',
           'cache_dir', 'fashion_mnist_dirs', 'load_fashion_mnist', 'download',
           'read_idx']


class DataError(RuntimeError):
    """数据集无法取得或无法使用。"""


class ChecksumError(DataError):
    """文件已损坏：解压失败，或内容与期望的哈希不符。"""


def cache_dir():
    """每个用户的缓存目录（不在仓库里）。"""
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(Path.home(), '.cache')
    return Path(base) / 'd2l-notes'


# ---------------------------------------------------------------- 公共部分：读、写、取舍
# 下载失败时可能抛出的异常（校验失败另算）
_NETWORK_ERRORS = (OSError, http.client.HTTPException, ValueError)


def _env_dirs(var, paths):
    """环境变量 ``var`` 给出的目录；设置了却不是已存在的目录时报错，而不是悄悄忽略。"""
    dirs = []
    for p in paths:
        if not p:
            continue
        if not os.path.isdir(p):
            why = '不存在' if not os.path.exists(p) else '不是目录'
            raise DataError(f'环境变量 {var}={p}：这个路径{why}。'
                            f'请把它改成存放数据文件的目录，或取消这个变量（unset {var}）。')
        dirs.append(Path(p))
    return dirs


def _open(path):
    """打开文件读取。打不开时抛出说明原因的 ``DataError``（权限不足不是“损坏”）；
    文件不存在时照常抛出 ``FileNotFoundError``。"""
    try:
        return open(path, 'rb')
    except (FileNotFoundError, NotADirectoryError):
        raise
    except PermissionError as e:
        raise DataError(f'{path}：无法读取，权限不足（{e.strerror}）；'
                        '请修改它的权限（例如 chmod a+r）或删除它') from e
    except OSError as e:
        raise DataError(f'{path}：无法读取（{e.strerror or e}）') from e


def _read_bytes(path):
    with _open(path) as f:
        try:
            return f.read()
        except OSError as e:
            raise DataError(f'{path}：无法读取（{e.strerror or e}）') from e


def _get(url):
    """下载 ``url`` 的全部内容（留在内存里，校验通过后才写盘）。"""
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.read()


def _atomic_write(dest, data):
    """把 ``data``（bytes 或 numpy 数组）写入 ``dest``：先写同目录的临时文件再改名，
    失败时删除临时文件后再抛出。新文件权限 0o644，由系统按 umask 去掉相应的位。"""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f'.{dest.name}.{os.getpid()}-{secrets.token_hex(4)}.part')
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, 'wb') as f:
            if isinstance(data, np.ndarray):
                np.save(f, data, allow_pickle=False)
            else:
                f.write(data)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _reject(problems, error, path=None, owned=False):
    """记下一个用不了的来源。``owned``：文件在本书自己的缓存里，损坏的就删掉（之后重新取得）。"""
    text = str(error)
    damaged = isinstance(error, ChecksumError)
    if damaged and path is not None:
        if owned:
            try:
                Path(path).unlink(missing_ok=True)
                text += '；它在本书的缓存目录里，已删除，会重新取得'
            except OSError as e:
                text += f'；它在本书的缓存目录里，但无法删除（{e.strerror or e}），请手动删除它'
        else:
            text += '；请删除它，或换成完好的文件'
    problems.append((damaged, text))


def _first_usable(candidates, problems):
    """依次尝试 ``candidates``（(路径, 是否本书的缓存, 读取并校验的函数)），
    返回 ``(结果, 路径)``；不存在的跳过，用不了的记进 ``problems``；都不行返回 ``None``。"""
    for path, owned, load in candidates:
        try:
            return load(path), path
        except (FileNotFoundError, NotADirectoryError):
            continue
        except DataError as e:
            _reject(problems, e, path, owned)
    return None


def _warn_skipped(what, problems, used):
    if problems:
        warnings.warn(f'{what}：以下来源没有使用，改用了 {used}：\n  '
                      + '\n  '.join(text for _, text in problems), stacklevel=3)


def _unavailable(what, problems, searched, how):
    """所有来源都用不了：列出每个来源的问题、查找过的目录和提供数据的办法。"""
    cls = ChecksumError if any(damaged for damaged, _ in problems) else DataError
    lines = [f'无法取得 {what}。']
    lines += ['  ' + text for _, text in problems]
    lines.append('已查找的目录：' + '、'.join(str(d) for d in searched))
    return cls('\n'.join(lines) + '\n' + how)


def _write_cache(dest, data):
    """写缓存；写不进去不影响使用，只发出警告（临时文件已清理）。"""
    try:
        _atomic_write(dest, data)
    except OSError as e:
        warnings.warn(f'无法写入缓存 {dest}（{e.strerror or e}）；数据照常使用，'
                      '只是下次还要重新读取源文件', stacklevel=4)


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
    '  2. 在 Debian/Ubuntu 上安装软件包：sudo apt-get update && sudo apt-get install dataset-fashion-mnist'
    f'（文件在 {FASHION_MNIST_SYSTEM_DIR}）；\n'
    '  3. 联网后重新运行，文件会下载到缓存目录 {cache}。')

_memory_cache = {}


def fashion_mnist_dirs():
    """按查找顺序列出 Fashion-MNIST 可能所在的目录。"""
    dirs = _env_dirs(FASHION_MNIST_ENV, [os.environ.get(FASHION_MNIST_ENV, '')])
    dirs.append(Path(FASHION_MNIST_SYSTEM_DIR))
    dirs.append(cache_dir() / 'fashion-mnist')
    return dirs


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


def _idx_header(shape):
    return bytes([0, 0, 0x08, len(shape)]) + b''.join(int(n).to_bytes(4, 'big') for n in shape)


def _verify(source, name, *chunks):
    """唯一的校验：IDX 内容（可分段给出）的 SHA-256 与字节数，不符抛出 ``ChecksumError``。"""
    sha256, size = FASHION_MNIST_FILES[name]
    h, n = hashlib.sha256(), 0
    for chunk in chunks:
        h.update(chunk)
        n += memoryview(chunk).nbytes
    actual = h.hexdigest()
    if actual != sha256:
        raise ChecksumError(f'{source}：校验失败（解压后内容的 SHA-256 应为 {sha256}，'
                            f'实际为 {actual}；共 {n} 字节，应为 {size} 字节）')


def _decode(raw, source, name):
    """（gzip 时先解压）校验并解码一个 IDX 文件的内容。"""
    if raw[:2] == b'\x1f\x8b':
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            kind = type(e).__name__ if type(e).__module__ == 'builtins' else f'{type(e).__module__}.{type(e).__name__}'
            raise ChecksumError(f'{source}：gzip 数据已损坏或不完整（{kind}: {e}）') from e
    _verify(source, name, raw)
    return read_idx(raw)


def _load_idx_file(path, name):
    return _decode(_read_bytes(path), path, name)


def _load_npy(path, name):
    """读出缓存的数组，由形状重建 IDX 文件头，与源文件走同一个校验。"""
    with _open(path) as f:
        try:
            arr = np.load(f, allow_pickle=False)
        except (OSError, ValueError, EOFError) as e:
            raise ChecksumError(f'{path}：不是有效的 .npy 文件（{e}）') from e
    size = FASHION_MNIST_FILES[name][1]
    if (not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.ndim > 3
            or not arr.flags.c_contiguous or 4 + 4 * arr.ndim + arr.nbytes != size):
        raise ChecksumError(f'{path}：数组的类型或形状不对（{getattr(arr, "dtype", None)}，'
                            f'形状 {getattr(arr, "shape", None)}）')
    _verify(path, name, _idx_header(arr.shape), arr)
    return arr


def _npy_cache_path(name):
    sha256 = FASHION_MNIST_FILES[name][0]
    return cache_dir() / 'fashion-mnist' / f'{name}.{sha256[:16]}.npy'


def _load_array(name, mirrors):
    """取得一个文件的数组：``.npy`` 缓存 → 各个目录 → 各个镜像，第一个通过校验的为准。"""
    own = cache_dir() / 'fashion-mnist'
    npy = _npy_cache_path(name)
    candidates = [(npy, True, lambda p: _load_npy(p, name))]
    for d in fashion_mnist_dirs():
        for path in (d / (name + '.gz'), d / name):
            candidates.append((path, d == own, lambda p: _load_idx_file(p, name)))
    problems = []
    found = _first_usable(candidates, problems)
    if found is None:
        for mirror in mirrors:
            url = mirror + name + '.gz'
            try:
                raw = _get(url)
                found = _decode(raw, url, name), url
            except DataError as e:
                _reject(problems, e)
                continue
            except _NETWORK_ERRORS as e:
                problems.append((False, f'{url}：下载失败（{e}）'))
                continue
            _write_cache(own / (name + '.gz'), raw)
            break
    if found is None:
        raise _unavailable(f'Fashion-MNIST 文件 {name}', problems, fashion_mnist_dirs(),
                           _HOW_TO_PROVIDE.format(cache=own))
    arr, used = found
    _warn_skipped(f'Fashion-MNIST 文件 {name}', problems, used)
    if used != npy:
        _write_cache(npy, arr)
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
# 仓库自带的数据（与 utils 包同级的 data/ 目录）
REPO_DATA_DIR = Path(__file__).resolve().parent.parent / 'data'


def _hub_dirs():
    dirs = _env_dirs(DATA_DIR_ENV, os.environ.get(DATA_DIR_ENV, '').split(os.pathsep))
    dirs.append(REPO_DATA_DIR)
    dirs.append(cache_dir() / 'data')
    return dirs


def download(name, cache=None):
    """返回 ``DATA_HUB[name]`` 所指文件的本地路径：先找本地副本，再下载，都按 SHA-1 校验。

    ``cache`` 给出时只在这个目录里找，并下载到这里。"""
    if name not in DATA_HUB:
        raise DataError(f'数据中心里没有 {name!r}；已有：{", ".join(sorted(DATA_HUB))}')
    url, sha1 = DATA_HUB[name]
    fname = url.rsplit('/', 1)[-1]
    own = Path(cache) if cache is not None else cache_dir() / 'data'
    dirs = [own] if cache is not None else _hub_dirs()

    def check(content, source):
        actual = hashlib.sha1(content).hexdigest()
        if actual != sha1:
            raise ChecksumError(f'{source}：校验失败（SHA-1 应为 {sha1}，实际为 {actual}）')

    def load_local(path):
        check(_read_bytes(path), path)
        return path

    problems = []
    found = _first_usable([(d / fname, d == own, load_local) for d in dirs], problems)
    if found is None:
        dest = own / fname
        try:
            content = _get(url)
            check(content, url)
        except DataError as e:
            _reject(problems, e)
        except _NETWORK_ERRORS as e:
            problems.append((False, f'{url}：下载失败（{e}）'))
        else:
            try:
                _atomic_write(dest, content)
                found = dest, url
            except OSError as e:
                problems.append((False, f'{url} 已下载并通过校验，但无法写入 {dest}（{e.strerror or e}）'))
    if found is None:
        raise _unavailable(
            fname, problems, dirs,
            '可以用以下方式之一提供数据：\n'
            f'  1. 把文件放进一个目录，并设置环境变量 {DATA_DIR_ENV}=该目录；\n'
            f'  2. 把文件放回仓库自带的数据目录 {REPO_DATA_DIR}（在仓库里可用 git checkout -- data/ 恢复）；\n'
            f'  3. 把文件放进缓存目录 {own}；\n'
            '  4. 联网后重新运行，文件会自动下载并校验。')
    path, used = found
    _warn_skipped(fname, problems, used)
    return path
