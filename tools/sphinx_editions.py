"""本地 Sphinx 扩展：网站上的两个框架版本、输出来源与按版本下载。

拆分版本只用 ``tools/editions.py`` 中的函数，与执行命令、nbval 和 ``make lab`` 看到的版本相同。

1. **切换**（读入时的变换 ``EditionGroups``）：myst-nb 把笔记本的每个代码单元放进一个
   ``container``（``nb_element='cell_code'``，属性 ``cell_index`` 是单元的下标，单元标签成为
   CSS 类 ``tag_<标签>``）；Markdown 单元的节点没有外壳，但 myst-nb 给它们的行号编码了单元下标
   （没有 ``source_map`` 时第 i 个单元从第 (i+1)*10000+1 行开始）。``editions.groups(nb)`` 给出的每一组
   相邻的带框架标签的单元，被包进一个 ``div.d2l-switch``，每个框架一个 ``div.d2l-pane``，
   开头是框架名（``p.d2l-pane-label``）。不运行 JavaScript 时两个框架的代码都显示，各有标签；
   ``_static/editions.js`` 加上 ``MXNet | PyTorch`` 切换按钮，只显示所选的框架。
2. **来源行**（``doctree-resolved``）：每个笔记本页面的标题下，每个版本一行来源
   （``metadata.d2l.provenance[版本]``：设备、日期、规模、框架版本、用时），后面是该版本的下载链接。
   没有记录的版本写“输出未记录来源”，不编造任何内容；代码在运行后改过（哈希不符）时明确标出。
3. **来源表**（指令 ``d2l-provenance-table``，用于 ``provenance.md``）：目录中每个笔记本的每个版本一行。
4. **下载**（``build-finished``）：``_downloads/editions/<笔记本>-<版本>.ipynb``（``editions.extract``）
   和同名 ``.zip``：该版本的笔记本、``utils/`` 的源文件、需要时的 ``data/``、一个三行的 README，
   解压后在该目录中即可运行。主题的下载菜单中，原来的 ``.ipynb``（两个框架合在一起，不能在一个内核中
   运行）换成各版本的 ``.ipynb`` 与 ``.zip``。
"""
import bisect
import datetime
import html
import io
import posixpath
import re
import sys
import zipfile
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx import addnodes
from sphinx.transforms import SphinxTransform
from sphinx.util import logging
from sphinx.util.osutil import relative_uri

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools import editions as E  # noqa: E402

logger = logging.getLogger(__name__)

DOWNLOAD_DIR = '_downloads/editions'
PROVENANCE_DOC = 'provenance'
EDITION_LABELS = dict(E.LABELS, python='Python')
MISSING = '输出未记录来源'
STALE = '代码在这次运行之后改过，输出可能已经过时'
SCALES = {'full': '完整规模', 'reduced': '缩减规模'}
# 需要本地数据文件（data/）的笔记本：代码从数据中心取文件
_NEEDS_DATA = re.compile(r'''\bdownload\(\s*['"]|\bDATA_HUB\b''')
# 下载的压缩包里文件的固定时间戳：同样的内容得到同样的压缩包
_ZIP_TIME = (2020, 1, 1, 0, 0, 0)


# ------------------------------------------------------------ 读笔记本
_cache = {}


def notebook_path(env, docname):
    path = Path(env.doc2path(docname))
    return path if path.suffix == '.ipynb' else None


def load_notebook(path):
    """nbformat 读入的笔记本（按修改时间缓存）。"""
    import nbformat
    key = (str(path), path.stat().st_mtime_ns)
    if key not in _cache:
        _cache[key] = nbformat.read(str(path), as_version=4)
    return _cache[key]


def section_title(nb, fallback):
    for c in nb.cells:
        if c.cell_type == 'markdown':
            m = re.search(r'^#\s+(.+?)\s*#*\s*$', E.source(c), re.M)
            if m:
                return m.group(1)
    return fallback


def toc_docnames(env):
    """目录（_toc.yml）中的文件，按目录顺序。"""
    site_map = getattr(env, 'external_site_map', None) or getattr(env.config, 'external_site_map', None)
    if site_map is None:
        return sorted(env.found_docs)
    out = []

    def walk(docname):
        if docname in out or docname not in site_map:
            return
        out.append(docname)
        for child in site_map[docname].child_files():
            walk(child)
    walk(site_map.root.docname)
    return out


def download_name(docname, edition, suffix):
    return f'{DOWNLOAD_DIR}/{posixpath.basename(docname)}-{edition}{suffix}'


# ------------------------------------------------------------ 1. 切换：把每组单元包成两个并列的块
def _cell_starts(nb):
    """每个单元的第一行（myst-nb 给节点的行号），用来从行号找回 Markdown 单元的下标。"""
    smap = nb.metadata.get('source_map')
    return [(smap[i] if smap else (i + 1) * 10000) + 1 for i in range(len(nb.cells))]


def _node_cell(node, starts):
    if isinstance(node, nodes.container) and node.get('nb_element') == 'cell_code':
        return node.get('cell_index')
    if not node.line:
        return None
    i = bisect.bisect_right(starts, node.line) - 1
    return i if i >= 0 else None


def _pane(fw, members, single):
    label = f'仅{E.LABELS[fw]}版' if single else E.LABELS[fw]
    pane = nodes.container('', classes=['d2l-pane', f'd2l-pane-{fw}', f'd2l-only-{fw}'])
    pane += nodes.paragraph('', label, classes=['d2l-pane-label'])
    pane.extend(members)
    return pane


class EditionGroups(SphinxTransform):
    """把 ``editions.groups(nb)`` 的每一组单元包成 ``div.d2l-switch``，每个框架一个 ``div.d2l-pane``。"""
    default_priority = 880

    def apply(self, **kwargs):
        path = notebook_path(self.env, self.env.docname)
        if path is None:
            return
        nb = load_notebook(path)
        groups = E.groups(nb)
        if not groups:
            return
        fw_of = {i: fw for g in groups for i, fw in g}
        group_of = {i: k for k, g in enumerate(groups) for i, _ in g}
        starts = _cell_starts(nb)
        self._nb_cells = nb.cells
        done = {}
        # 单元的节点是文档或节的直接子节点（Markdown 单元的标题开始新的一节）
        for parent in list(self.document.findall(lambda n: isinstance(n, (nodes.document, nodes.section)))):
            self._wrap(parent, starts, fw_of, group_of, done)
        for k, count in done.items():
            if count > 1:
                ids = ', '.join(str(self._nb_cells[i].get('id')) for i, _ in groups[k])
                self._warn(self.document, f'一组带框架标签的单元（id {ids}）在页面上被其他内容隔开了')

    def _warn(self, node, msg):
        logger.warning(f'{msg}（{self.env.docname}）', location=node, type='d2l', subtype='editions')

    def _wrap(self, parent, starts, fw_of, group_of, done):
        children = list(parent.children)
        cells = []
        for child in children:
            i = _node_cell(child, starts) if isinstance(child, nodes.Element) else None
            if i in group_of and isinstance(child, (nodes.section, nodes.title)):
                if isinstance(child, nodes.section):
                    self._warn(child, f'带框架标签的 Markdown 单元（id {self._nb_cells[i].get("id")}）里不能有标题')
                i = None
            cells.append(i)
        # 没有行号的节点（例如标签的 target）夹在同一个单元的节点之间时，算作那个单元的
        for k, i in enumerate(cells):
            if i is None and isinstance(children[k], nodes.Element) and not isinstance(children[k], nodes.section):
                before = next((j for j in reversed(cells[:k]) if j is not None), None)
                after = next((j for j in cells[k + 1:] if j is not None), None)
                if before is not None and before == after and before in group_of:
                    cells[k] = before

        out, run, run_group = [], [], None

        def flush():
            nonlocal run, run_group
            if run:
                fws = [fw for fw in E.FRAMEWORKS if any(f == fw for f, _ in run)]
                box = nodes.container('', classes=['d2l-switch'] + (['d2l-switch-single'] if len(fws) == 1 else []))
                for fw in fws:
                    pane = _pane(fw, [n for f, n in run if f == fw], len(fws) == 1)
                    if fw != E.FRAMEWORKS[0] and len(fws) > 1:
                        _unnumber_twin_figures(pane)
                    box += pane
                out.append(box)
                done[run_group] = done.get(run_group, 0) + 1
            run, run_group = [], None

        for child, i in zip(children, cells):
            if i in group_of:
                if run_group is not None and group_of[i] != run_group:
                    flush()
                run_group = group_of[i]
                run.append((fw_of[i], child))
            else:
                flush()
                out.append(child)
        flush()
        parent.children = []
        parent.extend(out)


# ------------------------------------------------------------ 1a. 两个版本的同一张图用同一个图号
# 一组里 MXNet 的图和 PyTorch 的图是同一张图的两个版本，读者一次只看到一个。读入时先让 PyTorch 版的图
# 不参加编号（去掉 ids），写出前（doctree-resolved）恢复 ids，并让它用对应的 MXNet 版的图号。
def _figures(node):
    return [n for n in node.findall(nodes.figure)]


def _unnumber_twin_figures(pane):
    for fig in _figures(pane):
        if fig['ids']:
            fig['d2l_twin_ids'] = list(fig['ids'])
            fig['ids'] = []


def share_twin_figure_numbers(app, doctree, docname):
    numbers = app.env.toc_fignumbers.get(docname, {}).get('figure')
    for box in doctree.findall(lambda n: isinstance(n, nodes.container) and 'd2l-switch' in n['classes']):
        panes = [p for p in box.children if isinstance(p, nodes.container) and 'd2l-pane' in p['classes']]
        if len(panes) < 2:
            continue
        firsts = _figures(panes[0])
        for pane in panes[1:]:
            for k, fig in enumerate(_figures(pane)):
                twin_ids = fig.get('d2l_twin_ids')
                if not twin_ids:
                    continue
                fig['ids'] = twin_ids
                if numbers is not None and k < len(firsts) and firsts[k]['ids'] and firsts[k]['ids'][0] in numbers:
                    numbers[twin_ids[0]] = numbers[firsts[k]['ids'][0]]


# ------------------------------------------------------------ 1b. 练习的参考答案：折叠起来
ANSWER_TAG = 'answer'
ANSWER_SUMMARY = '参考答案'


class answer_block(nodes.General, nodes.Element):
    """连续的带 ``answer`` 标签的单元：HTML 中是一个默认折叠的 ``<details>``（不需要 JavaScript）。"""


def visit_answer_html(self, node):
    self.body.append(f'<details class="d2l-answer"><summary>{ANSWER_SUMMARY}</summary>'
                     '<div class="d2l-answer-body">\n')


def depart_answer_html(self, node):
    self.body.append('</div></details>\n')


def _visit_plain(self, node):
    pass


def _child_cells(node, starts):
    """一个子节点对应的单元下标：普通单元一个，切换块（d2l-switch）是它里面的全部单元。"""
    if isinstance(node, nodes.container) and 'd2l-switch' in node.get('classes', []):
        found = set()
        for n in node.findall(nodes.Element):
            if n is node or 'd2l-pane-label' in n.get('classes', []):
                continue
            i = _node_cell(n, starts)
            if i is not None:
                found.add(i)
        return found
    i = _node_cell(node, starts) if isinstance(node, nodes.Element) else None
    return set() if i is None else {i}


class AnswerBlocks(SphinxTransform):
    """把每一段连续的 ``answer`` 单元（可以含框架切换块）包成一个折叠的“参考答案”。"""
    default_priority = 885  # 在 EditionGroups（880）之后：切换块整个进入答案

    def apply(self, **kwargs):
        path = notebook_path(self.env, self.env.docname)
        if path is None:
            return
        nb = load_notebook(path)
        answers = {i for i, c in enumerate(nb.cells) if ANSWER_TAG in E.tags(c)}
        if not answers:
            return
        starts = _cell_starts(nb)
        # 每一段连续的答案单元编号：答案块不能被别的内容隔开，也不能跨节
        run_of, k = {}, -1
        for i in range(len(nb.cells)):
            if i in answers:
                if i - 1 not in answers:
                    k += 1
                run_of[i] = k
        seen = {}
        for parent in list(self.document.findall(lambda n: isinstance(n, (nodes.document, nodes.section)))):
            children = list(parent.children)
            out, block, block_run = [], None, None
            for child in children:
                cells = _child_cells(child, starts)
                runs = {run_of[i] for i in cells if i in run_of}
                if isinstance(child, nodes.section):
                    if runs:
                        logger.warning(f'参考答案的 Markdown 单元里不能有标题（{self.env.docname}）',
                                       location=child, type='d2l', subtype='answers')
                    runs = set()
                unlabelled = not cells and isinstance(child, nodes.target)
                if runs and cells <= answers and len(runs) == 1:
                    run = runs.pop()
                    if block is None or block_run != run:
                        block = answer_block()
                        block_run = run
                        out.append(block)
                        seen[run] = seen.get(run, 0) + 1
                    block += child
                elif unlabelled and block is not None:
                    block += child
                else:
                    block, block_run = None, None
                    out.append(child)
            parent.children = []
            parent.extend(out)
        for run, count in seen.items():
            if count > 1:
                logger.warning(f'一段参考答案在页面上被其他内容隔开了（{self.env.docname}）',
                               location=self.document, type='d2l', subtype='answers')


# ------------------------------------------------------------ 2. 来源行
def _date(prov, with_time=False):
    raw = prov.get('date') or ''
    try:
        t = datetime.datetime.strptime(raw, '%Y-%m-%dT%H:%M:%SZ')
    except ValueError:
        return raw or '日期未记录'
    return t.strftime('%Y-%m-%d %H:%M') if with_time else t.strftime('%Y-%m-%d')


def _scale(prov):
    """规模的说明；None 表示本页没有按设备切换规模的单元。"""
    scale = prov.get('scale')
    if scale is None:
        return None
    text = SCALES.get(scale, str(scale))
    cells = prov.get('cells') or {}
    reduced = sum(1 for s in cells.values() if s == 'reduced')
    if scale == 'reduced' and cells and reduced < len(cells):
        text += f'（{len(cells)}个gpu单元中的{reduced}个）'
    return text


def code_current(nb, edition, prov):
    return prov.get('code_sha256') == E.code_hash(nb, edition)


def _provenance_html(nb, docname, builder, env):
    here = builder.get_target_uri(docname)

    def href(target):
        return html.escape(relative_uri(here, target), quote=True)

    eds = E.editions(nb)
    lines = []
    for ed in eds:
        label = EDITION_LABELS.get(ed, ed)
        prov = E.provenance(nb, ed)
        cls = ['d2l-prov-line'] + ([f'd2l-only-{ed}'] if len(eds) > 1 else [])
        if prov:
            parts = [html.escape(prov.get('framework') or f'Python {prov.get("python", "")}'.strip()),
                     html.escape(prov.get('device') or '设备未记录'),
                     html.escape(_date(prov))]
            scale = _scale(prov)
            if scale:
                parts.append(f'<span class="d2l-scale-{html.escape(prov.get("scale") or "")}">{html.escape(scale)}</span>')
            if prov.get('seconds') is not None:
                parts.append(f'用时{float(prov["seconds"]):.1f}秒')
            text = '输出来自' + ' · '.join(parts)
            if not code_current(nb, ed, prov):
                cls.append('d2l-prov-stale')
                text += f' <strong class="d2l-stale">⚠ {STALE}</strong>'
            title = html.escape(f'命令：{prov.get("command", "未记录")}；Python {prov.get("python", "?")}，'
                                f'NumPy {prov.get("numpy", "?")}', quote=True)
        else:
            cls.append('d2l-prov-missing')
            text, title = f'<strong>{MISSING}</strong>', ''
        downloads = (f'<a class="d2l-download" download href="{href(download_name(docname, ed, ".ipynb"))}">'
                     f'.ipynb</a> · <a class="d2l-download" download '
                     f'href="{href(download_name(docname, ed, ".zip"))}">.zip（含utils，可直接运行）</a>')
        lines.append(
            f'<p class="{" ".join(cls)}" data-d2l-edition="{ed}"'
            + (f' title="{title}"' if title else '') + '>'
            f'<span class="d2l-prov-label">{html.escape(label)}版</span>{text}'
            f'<span class="d2l-prov-downloads">下载{html.escape(label)}版：{downloads}</span></p>')
    more = ''
    if PROVENANCE_DOC in env.found_docs:
        more = f'<a class="d2l-prov-more" href="{href(builder.get_target_uri(PROVENANCE_DOC))}">全书的运行记录 →</a>'
    return (f'<div class="d2l-provenance" data-d2l-editions="{" ".join(eds)}" role="note" '
            f'aria-label="输出的来源">{more}{"".join(lines)}</div>')


def add_provenance_line(app, doctree, docname):
    if app.builder.format != 'html':
        return
    path = notebook_path(app.env, docname)
    if path is None:
        return
    nb = load_notebook(path)
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None or not section.children or not isinstance(section[0], nodes.title):
        logger.warning(f'{docname}：笔记本没有标题，来源行无处可放', location=docname)
        return
    section.insert(1, nodes.raw('', _provenance_html(nb, docname, app.builder, app.env), format='html'))


# ------------------------------------------------------------ 3. 来源表
def _entry(*children, text=None, morerows=0):
    e = nodes.entry(morerows=morerows) if morerows else nodes.entry()
    if text is not None:
        children = (nodes.paragraph('', text),)
    for c in children:
        e += c if isinstance(c, nodes.paragraph) else nodes.paragraph('', '', c)
    return e


HEADERS = ['小节', '版本', '设备', '日期（UTC）', '规模', '用时（秒）', '软件版本', '代码未改动']


class ProvenanceTable(Directive):
    """目录中每个笔记本的每个版本一行：设备、日期、规模、用时、版本号、存储的代码哈希是否仍与代码一致。"""
    has_content = False

    def run(self):
        env = self.state.document.settings.env
        rows, stats = [], dict(versions=0, notebooks=0, gpu=0, reduced=0, stale=0, missing=0)
        for docname in toc_docnames(env):
            path = notebook_path(env, docname)
            if path is None:
                continue
            env.note_dependency(str(path))
            nb = load_notebook(path)
            stats['notebooks'] += 1
            eds = E.editions(nb)
            link = addnodes.pending_xref('', refdomain='std', reftype='doc', reftarget='/' + docname,
                                         refdoc=env.docname, refexplicit=True, refwarn=True)
            link += nodes.inline('', section_title(nb, docname))
            for k, ed in enumerate(eds):
                stats['versions'] += 1
                prov = E.provenance(nb, ed)
                row = nodes.row(classes=[f'd2l-edition-{ed}'])
                if k == 0:
                    row += _entry(link, morerows=len(eds) - 1)
                row += _entry(text=EDITION_LABELS.get(ed, ed))
                if not prov:
                    stats['missing'] += 1
                    row += _entry(nodes.strong('', MISSING))
                    for _ in HEADERS[3:]:
                        row += _entry(text='—')
                    rows.append(row)
                    continue
                current = code_current(nb, ed, prov)
                stats['gpu'] += prov.get('device_kind') == 'gpu'
                stats['reduced'] += prov.get('scale') == 'reduced'
                stats['stale'] += not current
                seconds = prov.get('seconds')
                versions = [prov.get('framework'), f'Python {prov["python"]}' if prov.get('python') else None,
                            f'NumPy {prov["numpy"]}' if prov.get('numpy') else None]
                for text in (prov.get('device') or '未记录', _date(prov, with_time=True), _scale(prov) or '—',
                             f'{float(seconds):.1f}' if seconds is not None else '—'):
                    row += _entry(text=text)
                row += _entry(*[nodes.paragraph('', v) for v in versions if v] or [nodes.paragraph('', '—')])
                row += _entry(text='是') if current else _entry(nodes.strong('', '否：代码已改动'))
                rows.append(row)

        table = nodes.table(classes=['d2l-provenance-table', 'colwidths-auto'])
        group = nodes.tgroup(cols=len(HEADERS))
        table += group
        for _ in HEADERS:
            group += nodes.colspec(colwidth=1)
        head = nodes.thead()
        hrow = nodes.row()
        for h in HEADERS:
            hrow += _entry(text=h)
        head += hrow
        group += head
        body = nodes.tbody()
        body.extend(rows)
        group += body
        summary = nodes.paragraph(
            '', f'目录中共有{stats["notebooks"]}个笔记本、{stats["versions"]}个版本：'
                f'{stats["gpu"]}个版本在GPU上运行，{stats["reduced"]}个版本有缩减规模的单元，'
                f'{stats["stale"]}个版本的代码在运行之后改过，{stats["missing"]}个版本没有记录来源。',
            classes=['d2l-provenance-summary'])
        box = nodes.container('', table, classes=['d2l-provenance-box'])
        return [summary, box]


# ------------------------------------------------------------ 4. 下载
README = """# {title}（{label}版）
需要Python 3.11、{deps}和Jupyter{versions}；在本目录中启动Jupyter，打开{nb_name}。
{imports}；{data}
"""


def readme(nb, stem, edition, with_data):
    prov = E.provenance(nb, edition) or {}
    used = [v for v in (prov.get('framework'), f'NumPy {prov["numpy"]}' if prov.get('numpy') else None) if v]
    module = E.UTILS_MODULE.get(edition)
    code = '\n'.join(E.source(nb.cells[i]) for i in E.edition_indices(nb, edition)
                     if nb.cells[i].cell_type == 'code')
    if with_data:
        data = '本节的数据文件在data/中。'
    elif 'fashion_mnist' in code:
        data = 'Fashion-MNIST数据集在第一次运行时下载并校验。'
    else:
        data = '本节不需要数据文件。'
    return README.format(
        title=section_title(nb, stem), label=EDITION_LABELS.get(edition, edition), nb_name=f'{stem}.ipynb',
        deps={'mxnet': 'MXNet', 'pytorch': 'PyTorch'}.get(edition, 'NumPy'),
        versions=f'（存储的输出来自{"、".join(used)}）' if used else '',
        imports=(f'笔记本用`from utils import {module} as d2l`导入本目录下utils/中的辅助函数' if module
                 else '笔记本从本目录下的utils/导入辅助函数'),
        data=data)


def _edition_notebook_bytes(nb, edition):
    import nbformat
    return (nbformat.writes(E.extract(nb, edition)) + '\n').encode('utf-8')


def _zip_write(zf, arcname, data):
    info = zipfile.ZipInfo(arcname, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, data)


def utils_sources(srcdir):
    base = Path(srcdir) / 'utils'
    return sorted(p for p in base.rglob('*.py') if '__pycache__' not in p.parts)


def needs_data(nb, edition):
    code = '\n'.join(E.source(nb.cells[i]) for i in E.edition_indices(nb, edition)
                     if nb.cells[i].cell_type == 'code')
    return bool(_NEEDS_DATA.search(code))


def build_zip(nb, docname, edition, srcdir):
    stem = posixpath.basename(docname)
    top = f'{stem}-{edition}'
    data_dir = Path(srcdir) / 'data'
    with_data = needs_data(nb, edition) and data_dir.is_dir()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as zf:
        _zip_write(zf, f'{top}/{stem}.ipynb', _edition_notebook_bytes(nb, edition))
        _zip_write(zf, f'{top}/README.md', readme(nb, stem, edition, with_data).encode('utf-8'))
        for p in utils_sources(srcdir):
            _zip_write(zf, f'{top}/{p.relative_to(srcdir).as_posix()}', p.read_bytes())
        if with_data:
            for p in sorted(data_dir.rglob('*')):
                if p.is_file() and not p.name.startswith('.'):
                    _zip_write(zf, f'{top}/{p.relative_to(srcdir).as_posix()}', p.read_bytes())
    return buf.getvalue()


def write_downloads(app, exception):
    if exception is not None or app.builder.format != 'html':
        return
    out = Path(app.outdir) / DOWNLOAD_DIR
    out.mkdir(parents=True, exist_ok=True)
    seen = {}
    for docname in sorted(app.env.found_docs):
        path = notebook_path(app.env, docname)
        if path is None:
            continue
        stem = posixpath.basename(docname)
        if stem in seen:
            logger.warning(f'下载文件重名：{docname} 与 {seen[stem]}', type='d2l', subtype='editions')
        seen[stem] = docname
        nb = load_notebook(path)
        for ed in E.editions(nb):
            for suffix, data in (('.ipynb', _edition_notebook_bytes(nb, ed)),
                                 ('.zip', build_zip(nb, docname, ed, app.srcdir))):
                target = Path(app.outdir) / download_name(docname, ed, suffix)
                if not target.exists() or target.read_bytes() != data:
                    target.write_bytes(data)


def header_download_buttons(app, pagename, templatename, context, doctree):
    """主题的下载菜单：笔记本页面的 .ipynb 换成各版本的 .ipynb 与 .zip。"""
    path = notebook_path(app.env, pagename) if pagename in app.env.found_docs else None
    if path is None:
        return
    nb = load_notebook(path)
    pathto = context['pathto']
    for group in context.get('header_buttons', []):
        if group.get('label') != 'download-buttons':
            continue
        new = []
        for ed in E.editions(nb):
            label = EDITION_LABELS.get(ed, ed)
            new.append({'type': 'link', 'url': pathto(download_name(pagename, ed, '.ipynb'), 1),
                        'text': f'{label}版 .ipynb', 'icon': 'fas fa-code',
                        'tooltip': f'下载本节的{label}版笔记本', 'label': f'download-{ed}-notebook-button'})
            new.append({'type': 'link', 'url': pathto(download_name(pagename, ed, '.zip'), 1),
                        'text': f'{label}版 .zip', 'icon': 'fas fa-file-zipper',
                        'tooltip': f'{label}版笔记本与utils/，解压后即可运行', 'label': f'download-{ed}-zip-button'})
        keep = [b for b in group.get('buttons', [])
                if b.get('label') not in ('download-source-button', 'download-notebook-button')]
        group['buttons'] = new + keep


def footer_links(app, pagename, templatename, context, doctree):
    """页脚里指向来源页的链接（_config.yml 中写作 href="provenance.html"）换成相对于本页的地址。"""
    footer = context.get('theme_extra_footer')
    if footer and 'href="provenance.html"' in footer:
        context['theme_extra_footer'] = footer.replace(
            'href="provenance.html"', f'href="{context["pathto"](PROVENANCE_DOC)}"')


def _ensure_static(app):
    # Jupyter Book 自动加载 _static/ 中的 .js 与 .css；单独使用本扩展时在这里加上
    for name, add, listed in (('editions.js', app.add_js_file, app.config.html_js_files),
                              ('editions.css', app.add_css_file, app.config.html_css_files)):
        names = [x[0] if isinstance(x, (tuple, list)) else x for x in listed]
        if name not in names:
            add(name)


def setup(app):
    app.add_transform(EditionGroups)
    app.add_node(answer_block, html=(visit_answer_html, depart_answer_html),
                 latex=(_visit_plain, _visit_plain), text=(_visit_plain, _visit_plain))
    app.add_transform(AnswerBlocks)
    app.add_directive('d2l-provenance-table', ProvenanceTable)
    app.connect('builder-inited', _ensure_static)
    app.connect('doctree-resolved', add_provenance_line)
    app.connect('doctree-resolved', share_twin_figure_numbers)
    app.connect('html-page-context', header_download_buttons, priority=900)
    app.connect('html-page-context', footer_links, priority=900)
    app.connect('build-finished', write_downloads)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
