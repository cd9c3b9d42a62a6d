"""make lab：每个笔记本是一个框架的版本；学习者的修改不被覆盖；JupyterLab 启动后内核能导入 utils。"""
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import nbformat
import pytest

from book import ROOT, notebooks
from tools import editions, lab


def test_prepare_writes_one_edition_per_notebook_and_keeps_learner_edits(tmp_path):
    out, written, kept = lab.prepare('pytorch', out=tmp_path / 'pt')
    assert written == len(notebooks()) and not kept
    for path in notebooks():
        nb = nbformat.read(out / path.relative_to(ROOT), as_version=4)
        assert nb.metadata['d2l']['edition'] in ('pytorch', *editions.editions(nbformat.read(path, as_version=4)))
        assert not any(t in editions.FRAMEWORKS for c in nb.cells for t in c.get('metadata', {}).get('tags', []))
    mine = out / 'chapters' / 'ch01_preliminaries' / '1.1_ndarray.ipynb'
    mine.write_text(mine.read_text().replace('"cells": [', '"cells": [\n  ', 1))  # 学习者改过
    edited = mine.read_bytes()
    _, written, kept = lab.prepare('pytorch', out=tmp_path / 'pt')
    assert [str(k) for k in kept] == ['chapters/ch01_preliminaries/1.1_ndarray.ipynb']
    assert mine.read_bytes() == edited
    _, _, kept = lab.prepare('pytorch', refresh=True, out=tmp_path / 'pt')
    assert not kept and mine.read_bytes() != edited


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


async def _run_code(port, token, kernel_id, code):
    from tornado.websocket import websocket_connect
    ws = await websocket_connect(f'ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?token={token}')
    msg_id = uuid.uuid4().hex
    ws.write_message(json.dumps({
        'header': {'msg_id': msg_id, 'username': 'test', 'session': uuid.uuid4().hex,
                   'msg_type': 'execute_request', 'version': '5.3'},
        'parent_header': {}, 'metadata': {}, 'channel': 'shell',
        'content': {'code': code, 'silent': False, 'store_history': False,
                    'user_expressions': {}, 'allow_stdin': False}}))
    out = []
    while True:
        msg = json.loads(await asyncio.wait_for(ws.read_message(), 120))
        if msg.get('parent_header', {}).get('msg_id') != msg_id:
            continue
        if msg['msg_type'] == 'stream':
            out.append(msg['content']['text'])
        elif msg['msg_type'] == 'error':
            out.append('ERROR ' + msg['content']['ename'] + ': ' + msg['content']['evalue'])
        elif msg['msg_type'] == 'status' and msg['content']['execution_state'] == 'idle':
            break
    ws.close()
    return ''.join(out)


@pytest.mark.parametrize('framework', ['mxnet', 'pytorch'])
def test_make_lab_starts_jupyterlab_with_a_kernel_that_sees_utils(tmp_path, framework):
    port, token = _free_port(), uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}  # utils 要靠 .venv 里的 .pth 找到
    env.update(HOME=str(tmp_path), JUPYTER_RUNTIME_DIR=str(tmp_path / 'rt'),
               JUPYTER_CONFIG_DIR=str(tmp_path / 'cfg'), JUPYTER_DATA_DIR=str(tmp_path / 'data'))
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / 'tools' / 'lab.py'), '--framework', framework, '--out', str(tmp_path / 'lab'),
         '--', '--no-browser', f'--port={port}', f'--ServerApp.token={token}', '--ServerApp.ip=127.0.0.1'],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f'http://127.0.0.1:{port}/api'
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(f'{base}/status?token={token}', timeout=2)
                break
            except OSError:
                assert proc.poll() is None and time.time() < deadline, proc.stdout.read() if proc.poll() else ''
                time.sleep(0.5)
        req = urllib.request.Request(f'{base}/kernels?token={token}', method='POST',
                                     data=json.dumps({'name': 'python3'}).encode(),
                                     headers={'Content-Type': 'application/json'})
        kernel = json.loads(urllib.request.urlopen(req, timeout=60).read())
        module = editions.UTILS_MODULE[framework]
        out = asyncio.run(_run_code(port, token, kernel['id'],
                                    f'import sys\nfrom utils import {module} as d2l\nprint(d2l.__name__, sys.prefix)'))
        assert out.split()[0] == f'utils.{module}', out
        assert out.split()[1] == str(ROOT / '.venv'), out
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
