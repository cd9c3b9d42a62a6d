"""utils.data 的单元测试：真实的 Fashion-MNIST 文件、缓存、数据中心，以及每条失败路径。"""
import gzip
import hashlib
import http.server
import os
import shutil
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from utils import data

SYSTEM_DIR = Path(data.FASHION_MNIST_SYSTEM_DIR)
KAGGLE_DIR = Path(__file__).resolve().parents[2] / 'shared' / 'data' / 'kaggle_house'
NAMES = list(data.FASHION_MNIST_FILES)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """空的缓存目录、没有系统目录、没有环境变量：一个“新用户”的机器。"""
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))
    monkeypatch.delenv(data.FASHION_MNIST_ENV, raising=False)
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(data, 'FASHION_MNIST_SYSTEM_DIR', str(tmp_path / 'no-system-copy'))
    monkeypatch.setattr(data, '_memory_cache', {})
    return tmp_path


def _real_content(name):
    with gzip.open(SYSTEM_DIR / (name + '.gz'), 'rb') as f:
        return f.read()


class _Server:
    """在 127.0.0.1 上提供 {路径: 字节串} 的 HTTP 服务器；truncate=True 时只发一半就断开。"""
    def __init__(self, files, truncate=False):
        files_ = files

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = files_.get(self.path.lstrip('/'))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if truncate else body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.httpd.server_address[1]}/'
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _files_left(directory):
    return sorted(p.name for p in Path(directory).rglob('*') if p.is_file()) if Path(directory).exists() else []


# ------------------------------------------------------------ 真实数据
def test_real_fashion_mnist_shapes_dtypes_and_counts():
    X_train, y_train, X_test, y_test = data.load_fashion_mnist()
    assert X_train.shape == (60000, 28, 28) and X_test.shape == (10000, 28, 28)
    assert X_train.dtype == np.uint8 and X_test.dtype == np.uint8
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert y_train.dtype == np.int64
    assert X_train.min() == 0 and X_train.max() == 255
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10


def test_system_files_verified_by_decompressed_sha256():
    for name, (sha256, size) in data.FASHION_MNIST_FILES.items():
        content = _real_content(name)
        assert len(content) == size
        assert hashlib.sha256(content).hexdigest() == sha256


def test_second_load_comes_from_npy_cache_without_reading_gz(isolated, monkeypatch):
    monkeypatch.setattr(data, 'FASHION_MNIST_SYSTEM_DIR', str(SYSTEM_DIR))
    first = data.load_fashion_mnist()
    cached = sorted(p.name for p in (isolated / 'cache' / 'd2l-notes' / 'fashion-mnist').glob('*.npy'))
    assert len(cached) == 4
    monkeypatch.setattr(data, '_memory_cache', {})

    def fail(*args, **kwargs):
        raise AssertionError('第二次加载不应再解压 gz 文件')
    monkeypatch.setattr(data, '_read_maybe_gzip', fail)
    second = data.load_fashion_mnist()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
        assert a.flags.writeable and b.flags.writeable  # 冷缓存与热缓存一样可写


def test_corrupt_npy_cache_is_discarded_and_rebuilt(isolated, monkeypatch):
    monkeypatch.setattr(data, 'FASHION_MNIST_SYSTEM_DIR', str(SYSTEM_DIR))
    data.load_fashion_mnist()
    monkeypatch.setattr(data, '_memory_cache', {})
    npy = data._npy_cache_path('train-labels-idx1-ubyte')
    npy.write_bytes(b'not an npy file')
    _, y_train, _, _ = data.load_fashion_mnist()
    assert np.bincount(y_train).tolist() == [6000] * 10


def test_env_dir_takes_precedence_and_accepts_uncompressed(isolated, monkeypatch):
    env_dir = isolated / 'mine'
    env_dir.mkdir()
    for name in NAMES:
        (env_dir / name).write_bytes(_real_content(name))  # 未压缩的 IDX 文件
    monkeypatch.setenv(data.FASHION_MNIST_ENV, str(env_dir))
    assert data.fashion_mnist_dirs()[0] == env_dir
    X_train, y_train, X_test, y_test = data.load_fashion_mnist()
    assert X_train.shape == (60000, 28, 28) and np.bincount(y_test).tolist() == [1000] * 10


# ------------------------------------------------------------ 失败路径
def test_checksum_mismatch_names_file_and_hashes_and_is_not_used(isolated, monkeypatch):
    env_dir = isolated / 'mine'
    env_dir.mkdir()
    for name in NAMES:
        shutil.copy(SYSTEM_DIR / (name + '.gz'), env_dir / (name + '.gz'))
    labels = bytearray(_real_content('train-labels-idx1-ubyte'))
    labels[100] = (labels[100] + 1) % 10  # 改一个标签
    bad = env_dir / 'train-labels-idx1-ubyte.gz'
    bad.write_bytes(gzip.compress(bytes(labels)))
    monkeypatch.setenv(data.FASHION_MNIST_ENV, str(env_dir))
    with pytest.raises(data.ChecksumError) as e:
        data.load_fashion_mnist()
    msg = str(e.value)
    assert str(bad) in msg
    assert data.FASHION_MNIST_FILES['train-labels-idx1-ubyte'][0] in msg
    assert hashlib.sha256(bytes(labels)).hexdigest() in msg
    # 坏文件没有被解码进缓存
    assert not data._npy_cache_path('train-labels-idx1-ubyte').exists()
    assert bad.exists()  # 用户的文件原样保留


def test_truncated_gzip_gives_clear_error(isolated, monkeypatch):
    env_dir = isolated / 'mine'
    env_dir.mkdir()
    raw = (SYSTEM_DIR / 'train-images-idx3-ubyte.gz').read_bytes()
    (env_dir / 'train-images-idx3-ubyte.gz').write_bytes(raw[: len(raw) // 3])
    monkeypatch.setenv(data.FASHION_MNIST_ENV, str(env_dir))
    with pytest.raises(data.DataError, match='损坏或不完整'):
        data.load_fashion_mnist()
    assert not data._npy_cache_path('train-images-idx3-ubyte').exists()


def test_offline_without_local_copy_names_three_ways(isolated):
    with pytest.raises(data.DataError) as e:
        data.load_fashion_mnist(mirrors=['http://127.0.0.1:9/'])  # 没有服务的端口
    msg = str(e.value)
    assert data.FASHION_MNIST_ENV in msg
    assert 'apt-get install dataset-fashion-mnist' in msg
    assert '联网' in msg and str(data.cache_dir()) in msg
    assert _files_left(isolated / 'cache') == []


def test_download_verifies_then_renames(isolated):
    server = _Server({name + '.gz': gzip.compress(_real_content(name), compresslevel=1) for name in NAMES})
    try:
        X_train, y_train, X_test, y_test = data.load_fashion_mnist(mirrors=[server.url])
    finally:
        server.close()
    assert np.bincount(y_train).tolist() == [6000] * 10
    left = _files_left(isolated / 'cache' / 'd2l-notes' / 'fashion-mnist')
    assert [f for f in left if f.endswith('.gz')] == sorted(n + '.gz' for n in NAMES)
    assert not [f for f in left if f.endswith('.part')]


def test_corrupt_download_leaves_nothing_trusted(isolated):
    files = {name + '.gz': gzip.compress(_real_content(name), compresslevel=1) for name in NAMES}
    files['train-images-idx3-ubyte.gz'] = gzip.compress(b'\x00' * 1000)
    server = _Server(files)
    try:
        with pytest.raises(data.ChecksumError, match='train-images-idx3-ubyte'):
            data.load_fashion_mnist(mirrors=[server.url])
    finally:
        server.close()
    left = _files_left(isolated / 'cache' / 'd2l-notes' / 'fashion-mnist')
    assert 'train-images-idx3-ubyte.gz' not in left
    assert not [f for f in left if '.part' in f]


def test_interrupted_download_leaves_nothing(isolated):
    files = {name + '.gz': gzip.compress(_real_content(name), compresslevel=1) for name in NAMES}
    server = _Server(files, truncate=True)
    try:
        with pytest.raises(data.DataError):
            data.load_fashion_mnist(mirrors=[server.url])
    finally:
        server.close()
    left = _files_left(isolated / 'cache' / 'd2l-notes' / 'fashion-mnist')
    assert not [f for f in left if f.endswith('.gz') or '.part' in f]


def test_read_idx_rejects_bad_headers():
    with pytest.raises(data.DataError, match='IDX'):
        data.read_idx(b'\x01\x02\x03')
    with pytest.raises(data.DataError, match='形状'):
        data.read_idx(bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]))
    arr = data.read_idx(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 9]))
    assert arr.tolist() == [7, 9] and arr.flags.writeable


# ------------------------------------------------------------ 数据中心
def test_hub_finds_local_kaggle_files(monkeypatch, isolated):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(KAGGLE_DIR))
    path = data.download('kaggle_house_train')
    assert path == KAGGLE_DIR / 'kaggle_house_pred_train.csv'
    assert data.download('kaggle_house_test').name == 'kaggle_house_pred_test.csv'
    header = path.read_text().splitlines()[0]
    assert header.startswith('Id,MSSubClass') and header.endswith('SalePrice')


def test_hub_checksum_mismatch(monkeypatch, isolated):
    d = isolated / 'hub'
    d.mkdir()
    (d / 'kaggle_house_pred_train.csv').write_text('Id,SalePrice\n1,2\n')
    monkeypatch.setenv(data.DATA_DIR_ENV, str(d))
    with pytest.raises(data.ChecksumError) as e:
        data.download('kaggle_house_train')
    assert 'kaggle_house_pred_train.csv' in str(e.value)
    assert data.DATA_HUB['kaggle_house_train'][1] in str(e.value)


def test_hub_offline_names_three_ways(monkeypatch, isolated):
    monkeypatch.setitem(data.DATA_HUB, 'kaggle_house_train',
                        ('http://127.0.0.1:9/kaggle_house_pred_train.csv',
                         data.DATA_HUB['kaggle_house_train'][1]))
    with pytest.raises(data.DataError) as e:
        data.download('kaggle_house_train')
    msg = str(e.value)
    assert data.DATA_DIR_ENV in msg and '缓存目录' in msg and '联网' in msg
    assert _files_left(isolated / 'cache') == []


def test_hub_download_verified(monkeypatch, isolated):
    body = (KAGGLE_DIR / 'kaggle_house_pred_test.csv').read_bytes()
    server = _Server({'kaggle_house_pred_test.csv': body, 'bad.csv': body[:-10]})
    try:
        monkeypatch.setitem(data.DATA_HUB, 'kaggle_house_test',
                            (server.url + 'kaggle_house_pred_test.csv',
                             data.DATA_HUB['kaggle_house_test'][1]))
        path = data.download('kaggle_house_test')
        assert path.read_bytes() == body
        monkeypatch.setitem(data.DATA_HUB, 'bad', (server.url + 'bad.csv',
                                                   data.DATA_HUB['kaggle_house_test'][1]))
        with pytest.raises(data.ChecksumError):
            data.download('bad')
        assert not (path.parent / 'bad.csv').exists()
    finally:
        server.close()


def test_hub_unknown_name():
    with pytest.raises(data.DataError, match='没有'):
        data.download('no-such-dataset')
