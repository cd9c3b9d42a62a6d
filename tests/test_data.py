"""utils.data 的单元测试：真实的 Fashion-MNIST 文件、缓存、数据中心，以及每条失败路径。

所有测试都用临时的缓存目录（XDG_CACHE_HOME），不碰仓库，也不碰真正的 ~/.cache/d2l-notes；
下载用 127.0.0.1 上的本地 HTTP 服务器。读不了、写不进、损坏等情况用临时文件上的故障注入重现。
"""
import errno
import gzip
import hashlib
import http.server
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import warnings
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from utils import data

ROOT = Path(__file__).resolve().parents[1]
REPO_DATA_DIR = ROOT / 'data'
NAMES = list(data.FASHION_MNIST_FILES)
LABELS = 't10k-labels-idx1-ubyte'  # 最小的文件（10 KB），失败路径的测试大多用它


def _find_source():
    """真实的四个 IDX 文件：FASHION_MNIST_DIR（设置了的话）或系统软件包的目录。"""
    for d in (os.environ.get(data.FASHION_MNIST_ENV), data.FASHION_MNIST_SYSTEM_DIR):
        if d and all((Path(d) / (n + '.gz')).is_file() or (Path(d) / n).is_file() for n in NAMES):
            return Path(d)
    return None


SOURCE_DIR = _find_source()


@pytest.fixture
def source():
    if SOURCE_DIR is None:
        pytest.fail('需要真实的 Fashion-MNIST：设置 FASHION_MNIST_DIR=放四个 IDX 文件的目录，'
                    '或 sudo apt-get update && sudo apt-get install dataset-fashion-mnist')
    return SOURCE_DIR


@lru_cache(maxsize=None)
def _real_content(name):
    gz = SOURCE_DIR / (name + '.gz')
    return gzip.decompress(gz.read_bytes()) if gz.is_file() else (SOURCE_DIR / name).read_bytes()


def _real_array(name):
    return data.read_idx(_real_content(name))


@lru_cache(maxsize=None)
def _gz(name):
    return gzip.compress(_real_content(name), compresslevel=1, mtime=0)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """空的缓存目录、没有系统目录、没有仓库数据、没有环境变量：一个“新用户”的离线机器。"""
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'cache'))
    monkeypatch.delenv(data.FASHION_MNIST_ENV, raising=False)
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(data, 'FASHION_MNIST_SYSTEM_DIR', str(tmp_path / 'no-system-copy'))
    monkeypatch.setattr(data, 'REPO_DATA_DIR', tmp_path / 'no-repo-data')
    monkeypatch.setattr(data, '_memory_cache', {})
    return tmp_path


@pytest.fixture
def system_copy(isolated, source, monkeypatch):
    """同上，但有一份完好的“系统副本”（真实文件所在的目录）。"""
    monkeypatch.setattr(data, 'FASHION_MNIST_SYSTEM_DIR', str(source))
    return isolated


def _fm_cache():
    return data.cache_dir() / 'fashion-mnist'


def _deny(monkeypatch, *paths):
    """故障注入：让 utils.data 打开这些文件时得到 PermissionError（以 root 运行时 chmod 拦不住读取）。"""
    denied = {str(p) for p in paths}
    real_open = open

    def fake_open(file, *args, **kwargs):
        if str(file) in denied:
            raise PermissionError(errno.EACCES, 'Permission denied', str(file))
        return real_open(file, *args, **kwargs)
    monkeypatch.setattr(data, 'open', fake_open, raising=False)


def _flip_raising_zlib_error(comp):
    """返回翻转了一个字节、解压时抛出 zlib.error 的 gzip 数据（原来的 bug：裸的 zlib.error）。"""
    for i in range(10, len(comp) - 8):
        bad = bytearray(comp)
        bad[i] ^= 0xFF
        try:
            gzip.decompress(bytes(bad))
        except zlib.error:
            return bytes(bad)
        except Exception:  # noqa: BLE001  其他错误不是这里要的
            pass
    raise AssertionError('找不到会引发 zlib.error 的字节')


def _messages(record):
    return '\n'.join(str(w.message) for w in record)


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

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _files_left(directory):
    return sorted(p.name for p in Path(directory).rglob('*') if p.is_file()) if Path(directory).exists() else []


# ------------------------------------------------------------ 真实数据
def test_real_fashion_mnist_shapes_dtypes_and_counts(system_copy):
    X_train, y_train, X_test, y_test = data.load_fashion_mnist()
    assert X_train.shape == (60000, 28, 28) and X_test.shape == (10000, 28, 28)
    assert X_train.dtype == np.uint8 and X_test.dtype == np.uint8
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert y_train.dtype == np.int64
    assert X_train.min() == 0 and X_train.max() == 255
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10


def test_source_files_verified_by_decompressed_sha256(source):
    for name, (sha256, size) in data.FASHION_MNIST_FILES.items():
        content = _real_content(name)
        assert len(content) == size
        assert hashlib.sha256(content).hexdigest() == sha256


def test_second_load_comes_from_verified_npy_cache_without_reading_sources(system_copy, monkeypatch):
    first = data.load_fashion_mnist()
    cached = sorted(p.name for p in _fm_cache().glob('*.npy'))
    assert len(cached) == 4
    monkeypatch.setattr(data, '_memory_cache', {})

    def fail(*args, **kwargs):
        raise AssertionError('第二次加载不应再读源文件')
    monkeypatch.setattr(data, '_load_idx_file', fail)
    verified = []
    real_verify = data._verify
    monkeypatch.setattr(data, '_verify', lambda *a: verified.append(a[0]) or real_verify(*a))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        second = data.load_fashion_mnist()
    assert sorted(Path(p).name for p in verified) == cached  # 缓存也逐个校验过
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
        assert a.flags.writeable and b.flags.writeable  # 冷缓存与热缓存一样可写


def test_env_dir_takes_precedence_and_accepts_uncompressed(isolated, source, monkeypatch):
    env_dir = isolated / 'mine'
    env_dir.mkdir()
    for name in NAMES:
        (env_dir / name).write_bytes(_real_content(name))  # 未压缩的 IDX 文件
    monkeypatch.setenv(data.FASHION_MNIST_ENV, str(env_dir))
    assert data.fashion_mnist_dirs()[0] == env_dir
    X_train, y_train, X_test, y_test = data.load_fashion_mnist()
    assert X_train.shape == (60000, 28, 28) and np.bincount(y_test).tolist() == [1000] * 10


# ------------------------------------------------------------ 4. 内容不对的 .npy 缓存
def _save(arr):
    return lambda path: np.save(path, arr)


def _flip_last_byte(path):
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0x01
    path.write_bytes(bytes(raw))


WRONG_CACHES = {
    # 字节数都对，内容不对
    'transposed (28, 28, 60000)': ('train-images-idx3-ubyte',
                                   lambda a: _save(np.ascontiguousarray(a.transpose(1, 2, 0)))),
    'shape (1, n)': (LABELS, lambda a: _save(a.reshape(1, -1))),
    'all zeros': (LABELS, lambda a: _save(np.zeros_like(a))),
    'labels shifted by one': (LABELS, lambda a: _save(np.roll(a, 1))),
    'labels off by one': (LABELS, lambda a: _save((a + 1) % 10)),
    'int8 instead of uint8': (LABELS, lambda a: _save(a.view(np.int8))),
    'one flipped byte': (LABELS, lambda a: _flip_last_byte),
    'not an npy file': (LABELS, lambda a: lambda path: path.write_bytes(b'not an npy file')),
}


@pytest.mark.parametrize('case', list(WRONG_CACHES))
def test_wrong_npy_cache_is_detected_and_rebuilt(system_copy, case):
    name, corrupt = WRONG_CACHES[case]
    good = data._load_array(name, [])
    npy = data._npy_cache_path(name)
    corrupt(good)(npy)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        arr = data._load_array(name, [])
    assert arr.shape == _real_array(name).shape and arr.dtype == np.uint8
    np.testing.assert_array_equal(arr, _real_array(name))
    msg = _messages(record)
    assert str(npy) in msg and '已删除' in msg
    np.testing.assert_array_equal(data._load_npy(npy, name), arr)  # 已按正确内容重建


# ------------------------------------------------------------ 5. 别人的缓存、删不掉、权限
def test_unreadable_npy_cache_falls_back_to_source_with_reason(system_copy, monkeypatch):
    data._load_array(LABELS, [])
    npy = data._npy_cache_path(LABELS)
    _deny(monkeypatch, npy)
    with pytest.warns(UserWarning) as record:
        arr = data._load_array(LABELS, [])
    np.testing.assert_array_equal(arr, _real_array(LABELS))
    msg = _messages(record)
    assert str(npy) in msg and '权限不足' in msg and '损坏' not in msg


def _run_as_nobody(fn):
    """在 fork 出的子进程里换成用户 nobody 运行 fn()，返回它的（可 JSON 化的）结果。"""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # 子进程
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            out = json.dumps(fn())
        except BaseException as e:  # noqa: BLE001  把错误带回父进程
            out = json.dumps({'error': repr(e)})
        with os.fdopen(w, 'w') as f:
            f.write(out)
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        out = f.read()
    os.waitpid(pid, 0)
    return json.loads(out)


def test_cache_written_by_another_user_is_skipped_with_reason(source, monkeypatch):
    """真实的权限（不是注入的）：缓存文件 0600、属于写下它的用户。以 root 运行时换成 nobody
    在子进程里读（缓存目录也写不进）；不是 root 时把文件设为 000（对文件主人也不可读）。"""
    base = Path(tempfile.mkdtemp(prefix='d2l-perm-'))  # /tmp 下，nobody 进得去（pytest 的 tmp_path 是 0700）
    try:
        base.chmod(0o755)
        system = base / 'system'
        system.mkdir()
        system.chmod(0o755)
        (system / (LABELS + '.gz')).write_bytes(_gz(LABELS))
        (system / (LABELS + '.gz')).chmod(0o644)
        monkeypatch.setenv('XDG_CACHE_HOME', str(base / 'cache'))
        monkeypatch.delenv(data.FASHION_MNIST_ENV, raising=False)
        monkeypatch.setattr(data, 'FASHION_MNIST_SYSTEM_DIR', str(system))
        data._load_array(LABELS, [])  # 这个用户写下缓存
        npy = data._npy_cache_path(LABELS)
        npy.chmod(0o600)

        def load():
            with warnings.catch_warnings(record=True) as record:
                warnings.simplefilter('always')
                arr = data._load_array(LABELS, [])
            return {'counts': np.bincount(arr).tolist(), 'warnings': [str(w.message) for w in record]}

        if os.geteuid() == 0:
            result = _run_as_nobody(load)
        else:
            npy.chmod(0)
            result = load()
    finally:
        shutil.rmtree(base)
    assert 'error' not in result, result
    assert result['counts'] == [1000] * 10
    msg = '\n'.join(result['warnings'])
    assert str(npy) in msg and '权限不足' in msg and '损坏' not in msg


def test_damaged_cache_that_cannot_be_deleted_says_so(system_copy, monkeypatch):
    data._load_array(LABELS, [])
    npy = data._npy_cache_path(LABELS)
    npy.write_bytes(b'damaged')
    real_unlink = Path.unlink

    def unlink(self, *args, **kwargs):
        if self == npy:
            raise PermissionError(errno.EACCES, 'Permission denied', str(self))
        return real_unlink(self, *args, **kwargs)
    monkeypatch.setattr(Path, 'unlink', unlink)
    with pytest.warns(UserWarning) as record:
        arr = data._load_array(LABELS, [])
    np.testing.assert_array_equal(arr, _real_array(LABELS))
    msg = _messages(record)
    assert str(npy) in msg and '无法删除' in msg and '手动删除' in msg


@pytest.mark.parametrize('umask, mode', [(0o022, 0o644), (0o002, 0o644), (0o077, 0o600)])
def test_new_cache_files_are_readable_by_others_within_umask(isolated, source, umask, mode):
    old = os.umask(umask)
    try:
        with _Server({LABELS + '.gz': _gz(LABELS)}) as server:
            data._load_array(LABELS, [server.url])  # 下载的 .gz 和解码的 .npy
    finally:
        os.umask(old)
    written = sorted(_fm_cache().iterdir())
    assert [p.name for p in written] == sorted([LABELS + '.gz', data._npy_cache_path(LABELS).name])
    for p in written:
        assert p.stat().st_mode & 0o777 == mode, p


# ------------------------------------------------------------ 6. gzip 中翻转的字节
def test_single_byte_flips_in_gz_are_named_and_never_escape(source):
    comp = _gz(LABELS)
    rng = random.Random(0)
    positions = sorted(set(range(10)) | set(range(len(comp) - 8, len(comp)))
                       | set(rng.sample(range(len(comp)), 300)))
    rejected = zlib_level = 0
    for i in positions:
        bad = bytearray(comp)
        bad[i] ^= 0xFF
        try:
            arr = data._decode(bytes(bad), f'probe-{i}.gz', LABELS)
        except data.ChecksumError as e:  # 任何其他异常都让测试失败
            assert f'probe-{i}.gz' in str(e)
            rejected += 1
            zlib_level += isinstance(e.__cause__, zlib.error)
        else:  # 例如 gzip 头里的时间戳：内容仍然完好，校验通过
            np.testing.assert_array_equal(arr, _real_array(LABELS))
    assert rejected > len(positions) // 2 and zlib_level > 0


def test_damaged_gz_in_env_dir_falls_through_to_next_directory(system_copy, monkeypatch):
    env_dir = system_copy / 'mine'
    env_dir.mkdir()
    bad = env_dir / (LABELS + '.gz')
    bad_bytes = _flip_raising_zlib_error(_gz(LABELS))
    bad.write_bytes(bad_bytes)
    monkeypatch.setenv(data.FASHION_MNIST_ENV, str(env_dir))
    with pytest.warns(UserWarning) as record:
        arr = data._load_array(LABELS, [])
    np.testing.assert_array_equal(arr, _real_array(LABELS))
    msg = _messages(record)
    assert str(bad) in msg and '损坏' in msg and '请删除它' in msg
    assert bad.read_bytes() == bad_bytes  # 用户的文件原样保留


def test_damaged_download_tries_next_mirror(isolated, source):
    good = _gz(LABELS)
    with _Server({'a/' + LABELS + '.gz': _flip_raising_zlib_error(good),
                  'b/' + LABELS + '.gz': good}) as server:
        with pytest.warns(UserWarning) as record:
            arr = data._load_array(LABELS, [server.url + 'a/', server.url + 'b/'])
        first_url = server.url + 'a/' + LABELS + '.gz'
    np.testing.assert_array_equal(arr, _real_array(LABELS))
    assert first_url in _messages(record)
    assert (_fm_cache() / (LABELS + '.gz')).read_bytes() == good


# ------------------------------------------------------------ 7. 写缓存失败
def _disk_full(file, arr, **kwargs):
    file.write(b'\x93NUMPY partial')
    raise OSError(errno.ENOSPC, 'No space left on device')


def test_failed_cache_write_leaves_no_part_file(system_copy, monkeypatch):
    monkeypatch.setattr(np, 'save', _disk_full)
    for _ in range(2):
        with pytest.warns(UserWarning, match='无法写入缓存'):
            arr = data._load_array(LABELS, [])
        np.testing.assert_array_equal(arr, _real_array(LABELS))
    assert _files_left(system_copy / 'cache') == []


def test_cache_path_occupied_by_a_directory_leaves_no_part_file(system_copy):
    npy = data._npy_cache_path(LABELS)
    npy.mkdir(parents=True)  # os.replace 会失败
    with pytest.warns(UserWarning) as record:
        arr = data._load_array(LABELS, [])
    np.testing.assert_array_equal(arr, _real_array(LABELS))
    assert '无法写入缓存' in _messages(record)
    assert _files_left(system_copy / 'cache') == []


def test_hub_write_failure_leaves_no_part_file(isolated, monkeypatch):
    body = (REPO_DATA_DIR / 'kaggle_house_pred_test.csv').read_bytes()
    target = isolated / 'hubcache'
    (target / 'kaggle_house_pred_test.csv').mkdir(parents=True)  # os.replace 会失败
    with _Server({'kaggle_house_pred_test.csv': body}) as server:
        monkeypatch.setitem(data.DATA_HUB, 'kaggle_house_test',
                            (server.url + 'kaggle_house_pred_test.csv', data.DATA_HUB['kaggle_house_test'][1]))
        with pytest.raises(data.DataError, match='无法写入'):
            data.download('kaggle_house_test', cache=target)
    assert _files_left(target) == []


# ------------------------------------------------------------ 8. 损坏的文件：自己的缓存重新下载，用户的文件说清怎么办
def test_damaged_gz_in_own_cache_is_deleted_and_downloaded_again(isolated, source):
    cached = _fm_cache() / (LABELS + '.gz')
    cached.parent.mkdir(parents=True)
    cached.write_bytes(_flip_raising_zlib_error(_gz(LABELS)))
    with _Server({LABELS + '.gz': _gz(LABELS)}) as server:
        with pytest.warns(UserWarning) as record:
            arr = data._load_array(LABELS, [server.url])
    np.testing.assert_array_equal(arr, _real_array(LABELS))
    msg = _messages(record)
    assert str(cached) in msg and '已删除' in msg
    assert cached.read_bytes() == _gz(LABELS)


def test_damaged_user_file_without_alternative_says_what_to_do(isolated, source, monkeypatch):
    env_dir = isolated / 'mine'
    env_dir.mkdir()
    labels = bytearray(_real_content(LABELS))
    labels[100] = (labels[100] + 1) % 10  # 改一个标签
    bad = env_dir / (LABELS + '.gz')
    bad.write_bytes(gzip.compress(bytes(labels)))
    monkeypatch.setenv(data.FASHION_MNIST_ENV, str(env_dir))
    with pytest.raises(data.ChecksumError) as e:
        data._load_array(LABELS, ['http://127.0.0.1:9/'])  # 没有服务的端口
    msg = str(e.value)
    assert str(bad) in msg and '请删除它' in msg
    assert data.FASHION_MNIST_FILES[LABELS][0] in msg
    assert hashlib.sha256(bytes(labels)).hexdigest() in msg
    assert not data._npy_cache_path(LABELS).exists()  # 坏文件没有被解码进缓存
    assert bad.exists()  # 用户的文件原样保留


def test_hub_damaged_cache_file_is_downloaded_again(isolated, monkeypatch):
    body = (REPO_DATA_DIR / 'kaggle_house_pred_test.csv').read_bytes()
    cached = data.cache_dir() / 'data' / 'kaggle_house_pred_test.csv'
    cached.parent.mkdir(parents=True)
    cached.write_bytes(body[:-10])
    with _Server({'kaggle_house_pred_test.csv': body}) as server:
        monkeypatch.setitem(data.DATA_HUB, 'kaggle_house_test',
                            (server.url + 'kaggle_house_pred_test.csv', data.DATA_HUB['kaggle_house_test'][1]))
        with pytest.warns(UserWarning) as record:
            path = data.download('kaggle_house_test')
    assert path == cached and path.read_bytes() == body
    assert str(cached) in _messages(record) and '已删除' in _messages(record)


def test_hub_damaged_user_file(isolated, monkeypatch):
    d = isolated / 'hub'
    d.mkdir()
    bad = d / 'kaggle_house_pred_train.csv'
    bad.write_text('Id,SalePrice\n1,2\n')
    monkeypatch.setenv(data.DATA_DIR_ENV, str(d))
    monkeypatch.setitem(data.DATA_HUB, 'kaggle_house_train',
                        ('http://127.0.0.1:9/kaggle_house_pred_train.csv', data.DATA_HUB['kaggle_house_train'][1]))
    # 没有别的来源：报错，说清是哪个文件、怎么办
    with pytest.raises(data.ChecksumError) as e:
        data.download('kaggle_house_train')
    msg = str(e.value)
    assert str(bad) in msg and '请删除它' in msg and data.DATA_HUB['kaggle_house_train'][1] in msg
    # 仓库自带的副本可用：警告，并改用它
    monkeypatch.setattr(data, 'REPO_DATA_DIR', REPO_DATA_DIR)
    with pytest.warns(UserWarning, match=re.escape(str(bad))):
        assert data.download('kaggle_house_train') == REPO_DATA_DIR / 'kaggle_house_pred_train.csv'
    assert bad.read_text() == 'Id,SalePrice\n1,2\n'


# ------------------------------------------------------------ 9. 环境变量指向不存在的目录；读不了的文件
@pytest.mark.parametrize('var', [data.FASHION_MNIST_ENV, data.DATA_DIR_ENV])
@pytest.mark.parametrize('kind', ['missing', 'file'])
def test_env_var_pointing_nowhere_is_an_error(isolated, monkeypatch, var, kind):
    path = isolated / 'nowhere'
    if kind == 'file':
        path.write_text('')
    monkeypatch.setenv(var, str(path))
    with pytest.raises(data.DataError) as e:
        if var == data.FASHION_MNIST_ENV:
            data.load_fashion_mnist(mirrors=[])
        else:
            data.download('kaggle_house_test')
    msg = str(e.value)
    assert var in msg and str(path) in msg and ('不存在' if kind == 'missing' else '不是目录') in msg


def test_unreadable_file_is_permission_denied_not_damaged(isolated, source, monkeypatch):
    env_dir = isolated / 'mine'
    env_dir.mkdir()
    f = env_dir / (LABELS + '.gz')
    f.write_bytes(_gz(LABELS))
    monkeypatch.setenv(data.FASHION_MNIST_ENV, str(env_dir))
    _deny(monkeypatch, f)
    with pytest.raises(data.DataError) as e:
        data._load_array(LABELS, [])
    assert not isinstance(e.value, data.ChecksumError)
    msg = str(e.value)
    assert str(f) in msg and '权限不足' in msg and '损坏' not in msg
    assert f.exists()


# ------------------------------------------------------------ 其他失败路径
def test_truncated_gzip_gives_clear_error(isolated, source, monkeypatch):
    env_dir = isolated / 'mine'
    env_dir.mkdir()
    raw = _gz('train-images-idx3-ubyte')
    (env_dir / 'train-images-idx3-ubyte.gz').write_bytes(raw[: len(raw) // 3])
    monkeypatch.setenv(data.FASHION_MNIST_ENV, str(env_dir))
    with pytest.raises(data.DataError, match='损坏或不完整'):
        data.load_fashion_mnist(mirrors=[])
    assert not data._npy_cache_path('train-images-idx3-ubyte').exists()


def test_offline_without_local_copy_names_three_ways(isolated):
    with pytest.raises(data.DataError) as e:
        data.load_fashion_mnist(mirrors=['http://127.0.0.1:9/'])  # 没有服务的端口
    msg = str(e.value)
    assert data.FASHION_MNIST_ENV in msg
    assert 'sudo apt-get update && sudo apt-get install dataset-fashion-mnist' in msg
    assert '联网' in msg and str(data.cache_dir()) in msg
    assert _files_left(isolated / 'cache') == []


def test_download_verifies_then_renames(isolated, source):
    with _Server({name + '.gz': _gz(name) for name in NAMES}) as server:
        X_train, y_train, X_test, y_test = data.load_fashion_mnist(mirrors=[server.url])
    assert np.bincount(y_train).tolist() == [6000] * 10
    left = _files_left(_fm_cache())
    assert [f for f in left if f.endswith('.gz')] == sorted(n + '.gz' for n in NAMES)
    assert not [f for f in left if f.endswith('.part')]


def test_corrupt_download_leaves_nothing_trusted(isolated, source):
    files = {name + '.gz': _gz(name) for name in NAMES}
    files['train-images-idx3-ubyte.gz'] = gzip.compress(b'\x00' * 1000)
    with _Server(files) as server:
        with pytest.raises(data.ChecksumError, match='train-images-idx3-ubyte'):
            data.load_fashion_mnist(mirrors=[server.url])
    left = _files_left(_fm_cache())
    assert 'train-images-idx3-ubyte.gz' not in left
    assert not [f for f in left if '.part' in f]


def test_interrupted_download_leaves_nothing(isolated, source):
    with _Server({name + '.gz': _gz(name) for name in NAMES}, truncate=True) as server:
        with pytest.raises(data.DataError):
            data.load_fashion_mnist(mirrors=[server.url])
    left = _files_left(_fm_cache())
    assert not [f for f in left if f.endswith('.gz') or '.part' in f]


def test_read_idx_rejects_bad_headers():
    with pytest.raises(data.DataError, match='IDX'):
        data.read_idx(b'\x01\x02\x03')
    with pytest.raises(data.DataError, match='形状'):
        data.read_idx(bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]))
    arr = data.read_idx(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 9]))
    assert arr.tolist() == [7, 9] and arr.flags.writeable


# ------------------------------------------------------------ 数据中心
def test_repo_data_dir_is_next_to_utils_and_holds_verified_csvs():
    assert data.REPO_DATA_DIR == REPO_DATA_DIR
    for name in ('kaggle_house_train', 'kaggle_house_test'):
        url, sha1 = data.DATA_HUB[name]
        path = REPO_DATA_DIR / url.rsplit('/', 1)[-1]
        assert hashlib.sha1(path.read_bytes()).hexdigest() == sha1


def test_hub_finds_repo_copy_by_default_offline(isolated, monkeypatch):
    monkeypatch.setattr(data, 'REPO_DATA_DIR', REPO_DATA_DIR)
    for name in ('kaggle_house_train', 'kaggle_house_test'):  # 网络不可达：只能来自仓库
        monkeypatch.setitem(data.DATA_HUB, name, ('http://127.0.0.1:9/' + data.DATA_HUB[name][0].rsplit('/', 1)[-1],
                                                  data.DATA_HUB[name][1]))
    path = data.download('kaggle_house_train')
    assert path == REPO_DATA_DIR / 'kaggle_house_pred_train.csv'
    assert data.download('kaggle_house_test') == REPO_DATA_DIR / 'kaggle_house_pred_test.csv'
    header = path.read_text().splitlines()[0]
    assert header.startswith('Id,MSSubClass') and header.endswith('SalePrice')
    assert _files_left(isolated / 'cache') == []


def test_hub_env_dir_comes_before_repo_copy(isolated, monkeypatch):
    monkeypatch.setattr(data, 'REPO_DATA_DIR', REPO_DATA_DIR)
    d = isolated / 'hub'
    d.mkdir()
    shutil.copy(REPO_DATA_DIR / 'kaggle_house_pred_test.csv', d)
    monkeypatch.setenv(data.DATA_DIR_ENV, os.pathsep.join([str(isolated / 'hub'), str(REPO_DATA_DIR)]))
    assert data.download('kaggle_house_test') == d / 'kaggle_house_pred_test.csv'


def test_hub_offline_names_the_ways(monkeypatch, isolated):
    monkeypatch.setitem(data.DATA_HUB, 'kaggle_house_train',
                        ('http://127.0.0.1:9/kaggle_house_pred_train.csv',
                         data.DATA_HUB['kaggle_house_train'][1]))
    with pytest.raises(data.DataError) as e:
        data.download('kaggle_house_train')
    msg = str(e.value)
    assert data.DATA_DIR_ENV in msg and '缓存目录' in msg and '联网' in msg
    assert str(data.REPO_DATA_DIR) in msg
    assert _files_left(isolated / 'cache') == []


def test_hub_download_verified(monkeypatch, isolated):
    body = (REPO_DATA_DIR / 'kaggle_house_pred_test.csv').read_bytes()
    with _Server({'kaggle_house_pred_test.csv': body, 'bad.csv': body[:-10]}) as server:
        monkeypatch.setitem(data.DATA_HUB, 'kaggle_house_test',
                            (server.url + 'kaggle_house_pred_test.csv',
                             data.DATA_HUB['kaggle_house_test'][1]))
        path = data.download('kaggle_house_test')
        assert path == data.cache_dir() / 'data' / 'kaggle_house_pred_test.csv'
        assert path.read_bytes() == body
        monkeypatch.setitem(data.DATA_HUB, 'bad', (server.url + 'bad.csv',
                                                   data.DATA_HUB['kaggle_house_test'][1]))
        with pytest.raises(data.ChecksumError):
            data.download('bad')
        assert not (path.parent / 'bad.csv').exists()
    assert not [f for f in _files_left(path.parent) if '.part' in f]


def test_hub_unknown_name():
    with pytest.raises(data.DataError, match='没有'):
        data.download('no-such-dataset')


# ------------------------------------------------------------ 10. tools/system-deps.sh 的角色
SYSTEM_DEPS = ROOT / 'tools' / 'system-deps.sh'


def _system_deps(tmp_path, *args, installed=(), fashion_mnist_dir=None):
    """在假的 PATH 下运行脚本：dpkg-query 按 installed 回答，id -u 说不是 root，没有 sudo，
    所以脚本只会打印建议，不会真的安装任何东西。"""
    fake = tmp_path / 'fakebin'
    fake.mkdir(exist_ok=True)
    (fake / 'dpkg-query').write_text(
        '#!/bin/sh\nfor p in $FAKE_INSTALLED; do [ "$p" = "$3" ] && { printf "install ok installed"; exit 0; }; done\n'
        'exit 1\n')
    (fake / 'id').write_text('#!/bin/sh\necho 1000\n')
    for f in ('dpkg-query', 'id'):
        (fake / f).chmod(0o755)
    if not (fake / 'grep').exists():
        (fake / 'grep').symlink_to(shutil.which('grep'))
    env = {'PATH': str(fake), 'FAKE_INSTALLED': ' '.join(installed), 'LANG': 'C.UTF-8'}
    if fashion_mnist_dir is not None:
        env['FASHION_MNIST_DIR'] = str(fashion_mnist_dir)
    out = subprocess.run([shutil.which('bash'), str(SYSTEM_DEPS), *args], env=env,
                         capture_output=True, text=True, timeout=60)
    return out.returncode, out.stdout + out.stderr


ALL_PKGS = ['fonts-noto-cjk', 'graphviz', 'chromium', 'chromium-driver', 'dataset-fashion-mnist']


def _advice(output):
    lines = [line.strip() for line in output.splitlines() if 'apt-get' in line]
    assert len(lines) == 1, output
    assert lines[0].startswith('sudo apt-get update && sudo apt-get install '), output
    return lines[0].split('install ', 1)[1].split()


@pytest.mark.parametrize('role, expected', [
    ('site', ['fonts-noto-cjk', 'graphviz']),
    ('unit', ['fonts-noto-cjk', 'dataset-fashion-mnist']),
    ('execute', ['fonts-noto-cjk', 'dataset-fashion-mnist']),
    ('bench', ['dataset-fashion-mnist']),
    ('test', ALL_PKGS),
])
def test_system_deps_roles_ask_only_for_what_they_need(tmp_path, role, expected):
    rc, out = _system_deps(tmp_path, role)
    assert rc == 1
    assert _advice(out) == expected
    rc, out = _system_deps(tmp_path, role, installed=expected)
    assert (rc, out) == (0, '')


def test_system_deps_dataset_not_needed_when_env_dir_has_the_files(tmp_path):
    d = tmp_path / 'fm'
    d.mkdir()
    for i, name in enumerate(NAMES):
        (d / (name + ('.gz' if i % 2 else ''))).write_bytes(b'x')  # .gz 与未压缩都算
    rc, out = _system_deps(tmp_path, 'unit', installed=['fonts-noto-cjk'], fashion_mnist_dir=d)
    assert (rc, out) == (0, '')
    rc, out = _system_deps(tmp_path, 'test', fashion_mnist_dir=d)
    assert 'dataset-fashion-mnist' not in _advice(out)
    (d / NAMES[0]).unlink()  # 少一个文件：还是需要软件包，并说明缺哪个
    rc, out = _system_deps(tmp_path, 'unit', installed=['fonts-noto-cjk'], fashion_mnist_dir=d)
    assert rc == 1 and _advice(out) == ['dataset-fashion-mnist'] and NAMES[0] in out


def test_system_deps_env_dir_that_does_not_exist_is_an_error(tmp_path):
    rc, out = _system_deps(tmp_path, 'unit', installed=ALL_PKGS, fashion_mnist_dir=tmp_path / 'nope')
    assert rc == 1 and 'FASHION_MNIST_DIR' in out and str(tmp_path / 'nope') in out


@pytest.mark.parametrize('args', [[], ['everything'], ['--with-browser']])
def test_system_deps_requires_a_role(tmp_path, args):
    rc, out = _system_deps(tmp_path, *args)
    assert rc == 2 and '用法' in out
