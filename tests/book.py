"""测试共用：读目录、列出笔记本。"""
import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_files():
    """_toc.yml 中按顺序列出的所有文件（不带扩展名）。"""
    toc = yaml.safe_load((ROOT / '_toc.yml').read_text(encoding='utf-8'))
    out = [toc['root']]

    def walk(entries):
        for e in entries or []:
            if 'file' in e:
                out.append(e['file'])
            walk(e.get('sections'))
            walk(e.get('chapters'))
    for part in toc.get('parts', []):
        walk(part.get('chapters'))
    walk(toc.get('chapters'))
    return out


def notebooks():
    """chapters/ 下的所有笔记本。"""
    return sorted(p for p in (ROOT / 'chapters').rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts)


def load(path):
    return json.loads(Path(path).read_text(encoding='utf-8'))


def section_number(path):
    """文件名开头的小节编号，例如 5.6_lenet.ipynb → '5.6'。"""
    return re.match(r'(\d+(?:\.\d+)*)_', Path(path).name).group(1)


def source(cell):
    s = cell.get('source', '')
    return ''.join(s) if isinstance(s, list) else s


def tags(cell):
    return cell.get('metadata', {}).get('tags', [])


def framework(nb):
    """笔记本导入的是哪个 utils 模块：'mxnet'、'torch' 或 None。"""
    code = '\n'.join(source(c) for c in nb['cells'] if c['cell_type'] == 'code')
    m = re.search(r'from utils import (mxnet|torch) as d2l', code)
    return m.group(1) if m else None
