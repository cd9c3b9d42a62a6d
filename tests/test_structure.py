"""书的结构：目录、标题编号、已执行且按顺序的输出、nbval 标记、gpu 单元、数学写法。"""
import ast
import re

import nbformat
import pytest

from book import ROOT, load, notebooks, section_number, source, tags, toc_files
from tools import editions
from utils.common import REDUCED_LABEL

NOTEBOOKS = notebooks()
# 中文句子中间的软换行（前一行以汉字或中文标点结尾，下一行以汉字开头）
SOFT_BREAK = re.compile(r'[\u4e00-\u9fff，。；：、）”]\n[\u4e00-\u9fff]')
ids = [p.name for p in NOTEBOOKS]


def test_every_toc_entry_exists():
    missing = [f for f in toc_files()
               if not any((ROOT / (f + ext)).exists() for ext in ('.md', '.ipynb'))]
    assert not missing, f'_toc.yml 中的这些文件不存在：{missing}'


def test_every_notebook_is_in_the_toc():
    listed = set(toc_files())
    orphans = [str(p.relative_to(ROOT)) for p in NOTEBOOKS
               if str(p.relative_to(ROOT).with_suffix('')) not in listed]
    assert not orphans, f'这些笔记本不在 _toc.yml 中：{orphans}'


def test_toc_lists_all_six_chapters():
    chapters = [f for f in toc_files() if re.fullmatch(r'chapters/ch0[1-6]_[^/]+/index', f)]
    assert len(chapters) == 6


def test_toc_order_follows_section_numbers():
    numbers = [tuple(int(x) for x in section_number(ROOT / (f + '.ipynb')).split('.'))
               for f in toc_files() if f.startswith('chapters/') and not f.endswith('/index')]
    assert numbers == sorted(numbers)


@pytest.mark.parametrize('path', NOTEBOOKS, ids=ids)
def test_first_heading_starts_with_section_number(path):
    nb = load(path)
    first = nb['cells'][0]
    assert first['cell_type'] == 'markdown'
    heading = source(first).lstrip().splitlines()[0]
    assert heading.startswith(f'# {section_number(path)} '), heading


@pytest.mark.parametrize('path', NOTEBOOKS, ids=ids)
def test_each_edition_executed_in_order_with_outputs_and_no_errors(path):
    """每个版本都是在一个全新内核中从头到尾执行的（tools/execute.py）：执行序号 1, 2, 3, …"""
    nb = nbformat.read(path, as_version=4)
    assert nb['metadata'].get('kernelspec', {}).get('name') == 'python3'
    for e in editions.editions(nb):
        edition = editions.extract(nb, e)
        code = [c for c in edition.cells if c.cell_type == 'code' and source(c).strip()]
        counts = [c.get('execution_count') for c in code]
        assert None not in counts, f'{path.name} [{e}]: 有代码单元没有执行过'
        assert counts == list(range(1, len(code) + 1)), \
            f'{path.name} [{e}]: 单元不是在一个全新内核中从头到尾执行的：{counts}'
        for c in code:
            for o in c.get('outputs', []):
                assert o.get('output_type') != 'error', f'{path.name} [{e}]: 存储的输出含错误 {o.get("ename")}'
        assert any(c.get('outputs') for c in code), f'{path.name} [{e}]: 没有任何存储的输出'


@pytest.mark.parametrize('path', NOTEBOOKS, ids=ids)
def test_provenance_recorded_and_outputs_not_stale(path):
    """存储的输出来自现在的代码：来源里的代码哈希与代码单元现在的哈希相同。

    改了代码单元却没有重新执行，这个测试就失败：用 make execute NB=<笔记本> 重新执行。
    """
    nb = nbformat.read(path, as_version=4)
    rel = path.relative_to(ROOT)
    for e in editions.editions(nb):
        prov = editions.provenance(nb, e)
        assert prov, f'{rel} [{e}]: 没有输出来源记录（metadata.d2l.provenance）：用 make execute NB={rel} 执行'
        for key in ('code_sha256', 'utils_sha256', 'device', 'device_kind', 'python', 'date', 'seconds',
                    'scale', 'cells'):
            assert key in prov, f'{rel} [{e}]: 来源记录缺少 {key}'
        now = editions.code_hash(nb, e)
        assert prov['code_sha256'] == now, (
            f'{rel} [{e}]: 存储的输出已过时——代码单元在 {prov["date"]} 执行之后被改过'
            f'（记录的代码哈希 {prov["code_sha256"][:12]}…，现在 {now[:12]}…）。'
            f'用 make execute NB={rel} 重新执行')


@pytest.mark.parametrize('path', NOTEBOOKS, ids=ids)
def test_scale_switching_cells(path):
    """gpu 单元恰好调用一次 d2l.full_scale()；来源记录了它的规模；缩减规模时输出第一行这样说。"""
    nb = nbformat.read(path, as_version=4)
    for e in editions.editions(nb):
        prov = editions.provenance(nb, e) or {}
        for c in editions.extract(nb, e).cells:
            if c.cell_type != 'code':
                continue
            calls = source(c).count('full_scale(')
            if 'gpu' not in tags(c):
                assert calls == 0, f'{path.name} [{e}]: 调用 full_scale 的单元要标 gpu'
                continue
            assert calls == 1, f'{path.name} [{e}]: gpu 单元应恰好调用一次 d2l.full_scale()'
            scale = prov.get('cells', {}).get(c.get('id'))
            assert scale in ('full', 'reduced'), f'{path.name} [{e}]: 来源没有记录 gpu 单元 {c.get("id")} 的规模'
            stream = ''.join(o.get('text', '') for o in c.get('outputs', []) if o.get('output_type') == 'stream')
            first = stream.lstrip().splitlines()[0] if stream.strip() else ''
            if scale == 'reduced':
                assert first.startswith(REDUCED_LABEL), \
                    f'{path.name} [{e}]: 缩减规模的运行应在输出第一行说明（以“{REDUCED_LABEL}”开头）：{first!r}'
            else:
                assert REDUCED_LABEL not in stream, f'{path.name} [{e}]: 完整规模的运行却说缩减了规模'


DRAWERS = {'plot', 'show_images', 'predict_ch3', 'train_ch3', 'train_ch6', 'imshow', 'hist', 'scatter',
           'show', 'bar', 'Animator', 'subplots', 'figure', 'matshow', 'contour', 'fill_between'}


def _calls(node):
    """node 中（不进入 def/class/lambda）的调用：(函数名, 是否写作 obj.name(...))。"""
    found = set()
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(child, ast.Call):
            f = child.func
            if isinstance(f, ast.Attribute):
                found.add((f.attr, True))
            elif isinstance(f, ast.Name):
                found.add((f.id, False))
        found |= _calls(child)
    return found


def _draws(calls, own):
    """调用了绘图函数（plt.plot、d2l.plot……），或按名字调用了笔记本里定义的、会画图的函数。

    笔记本里的函数只认直接按名字的调用：3.5 节定义了会画图的 train()，而 net.train() 不画图。"""
    return any(name in DRAWERS or (name in own and not attr) for name, attr in calls)


def drawing_cells(cells):
    """会画图的代码单元的下标。"""
    trees = []
    for c in cells:
        try:
            tree = ast.parse('\n'.join(l for l in source(c).splitlines() if not l.lstrip().startswith(('%', '!'))))
        except SyntaxError:
            tree = None
        trees.append(tree)
    own = set()  # 笔记本里定义的、会画图的顶层函数和类
    changed = True
    while changed:
        changed = False
        for tree in trees:
            for node in tree.body if tree else []:  # 只看顶层的 def/class
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name not in own:
                    inner = {(n.func.attr, True) if isinstance(n.func, ast.Attribute) else (getattr(n.func, 'id', None), False)
                             for n in ast.walk(ast.Module(body=node.body, type_ignores=[])) if isinstance(n, ast.Call)}
                    if _draws(inner, own):
                        own.add(node.name)
                        changed = True
    return [i for i, tree in enumerate(trees) if tree is not None and _draws(_calls(tree), own)]


@pytest.mark.parametrize('path', NOTEBOOKS, ids=ids)
def test_every_drawing_cell_stores_its_figure(path):
    """画图的单元必须存着图：内核用了 Agg 之类的非 inline 后端时，图会悄悄消失。"""
    nb = nbformat.read(path, as_version=4)
    for e in editions.editions(nb):
        edition = editions.extract(nb, e)
        where = [i for i, c in zip(editions.edition_indices(nb, e), edition.cells) if c.cell_type == 'code']
        cells = [c for c in edition.cells if c.cell_type == 'code']
        blank = [where[i] for i in drawing_cells(cells)
                 if not any(k.startswith('image/') for o in cells[i].get('outputs', []) for k in o.get('data', {}))]
        assert not blank, (f'{path.name} [{e}]: 单元 {blank}（笔记本中的下标）画图，却没有存储图像输出'
                           '（内核是否用了 inline 后端？用 make execute 重新执行）')


def test_figure_detection_sees_helpers_defined_in_the_notebook():
    cells = [{'cell_type': 'code', 'source': s} for s in (
        'def show_trace(x):\n    d2l.plot(x)', 'show_trace([1, 2])', 'x = 1', 'def f():\n    plt.show()',
        'net = d2l.Animator(); y = [f() for _ in range(2)]', 'def train(n):\n    d2l.plot(n)', 'net.train()',
        'train(3)')]
    assert drawing_cells(cells) == [1, 4, 7]


@pytest.mark.parametrize('path', NOTEBOOKS, ids=ids)
def test_first_code_cell_imports_and_seeds(path):
    nb = load(path)
    first = next(c for c in nb['cells'] if c['cell_type'] == 'code')
    assert re.search(r'set_seed\(|\.seed\(', source(first)), f'{path.name}: 第一个代码单元应设置随机种子'


@pytest.mark.parametrize('path', NOTEBOOKS, ids=ids)
def test_nbval_marks_and_gpu_cells(path):
    nb = load(path)
    code = [c for c in nb['cells'] if c['cell_type'] == 'code']
    checked = [c for c in code if 'nbval-check-output' in tags(c) or '# NBVAL_CHECK_OUTPUT' in source(c)]
    assert checked, f'{path.name}: 没有任何单元标记给 nbval 比较'
    for c in code:
        if 'gpu' in tags(c):
            assert c not in checked, f'{path.name}: gpu 单元的输出随设备而变，不能让 nbval 比较'


@pytest.mark.parametrize('path', NOTEBOOKS, ids=ids)
def test_figures_stored_as_png_not_svg(path):
    nb = load(path)
    for c in nb['cells']:
        for o in c.get('outputs', []):
            assert 'image/svg+xml' not in o.get('data', {}), f'{path.name}: SVG 输出每次运行都不同'


@pytest.mark.parametrize('path', NOTEBOOKS, ids=ids)
def test_markdown_math_and_summary(path):
    nb = load(path)
    md = [source(c) for c in nb['cells'] if c['cell_type'] == 'markdown']
    for text in md:
        for line in text.splitlines():
            s = line.strip()
            # Typora 式的行内 $$x$$ 会在页面上留下多余的 $
            if s.count('$$') >= 2 and not (s.startswith('$$') and s.endswith('$$')):
                pytest.fail(f'{path.name}: 行内公式应写作 $x$：{s[:80]}')
        assert '<font' not in text, f'{path.name}: 不要用 <font> 标签'
        # {note} 不接受标题参数，“勘误”会变成正文的第一个词；用 {admonition} 勘误 + :class: note
        assert not re.search(r'\{note\}\s*勘误', text), f'{path.name}: 勘误框应写作 :::{{admonition}} 勘误'
    assert any(re.search(r'^## 小结', t, re.M) for t in md), f'{path.name}: 缺少“## 小结”'
    for text in md:
        prose = re.sub(r'```.*?```|\$\$.*?\$\$', '', text, flags=re.S)
        m = SOFT_BREAK.search(prose)
        assert not m, f'{path.name}: 中文段落里的换行在网页上显示为空格：{m.group(0)!r}'


def test_markdown_pages_have_no_typora_inline_math_or_soft_breaks():
    for path in [ROOT / 'intro.md', ROOT / 'notation.md', *ROOT.glob('chapters/*/index.md')]:
        text = path.read_text(encoding='utf-8')
        assert not SOFT_BREAK.search(re.sub(r'```.*?```', '', text, flags=re.S)), path
        for line in text.splitlines():
            s = line.strip()
            assert not (s.count('$$') >= 2 and not (s.startswith('$$') and s.endswith('$$'))), (path, s)


def test_gpu_gating_notebook_reduces_scale_on_cpu():
    """tests/notebooks/gpu_gating.ipynb 在没有 GPU 的机器上执行过：输出说明了缩减规模，来源记录了它。"""
    nb = load(ROOT / 'tests' / 'notebooks' / 'gpu_gating.ipynb')
    gpu_cells = [c for c in nb['cells'] if 'gpu' in tags(c)]
    assert gpu_cells
    text = ''.join(''.join(o.get('text', '')) for c in gpu_cells for o in c.get('outputs', []))
    assert text.lstrip().startswith(REDUCED_LABEL) and 'examples/sec on cpu' in text
    prov = editions.provenance(nb, 'pytorch')
    assert prov and prov['scale'] == 'reduced' and set(prov['cells'].values()) == {'reduced'}


BOX = re.compile(r'^:::+\{(admonition|note|tip|warning|important)\}\s*(.*)$', re.M)


@pytest.mark.parametrize('path', NOTEBOOKS, ids=ids)
def test_boxes_say_what_they_are(path):
    """勘误只用于笔记的错误（:class: note）；改动和补充用 说明 / 补充（:class: tip）。"""
    nb = load(path)
    for c in nb['cells']:
        if c['cell_type'] != 'markdown':
            continue
        text = source(c)
        for m in BOX.finditer(text):
            kind, title = m.group(1), m.group(2).strip()
            body = text[m.end():].split(':::', 1)[0]
            cls = re.search(r'^:class:\s*(\S+)', body, re.M)
            if title == '勘误':
                assert kind == 'admonition' and cls and cls.group(1) == 'note', \
                    f'{path.name}: 勘误框应写作 :::{{admonition}} 勘误 + :class: note'
            elif title in ('说明', '补充'):
                assert kind == 'admonition' and cls and cls.group(1) == 'tip', \
                    f'{path.name}: {title}框应写作 :::{{admonition}} {title} + :class: tip'
            if kind != 'admonition':
                assert '勘误' not in body[:20], f'{path.name}: 勘误应有自己的标题，不要写成 {{{kind}}} 的正文'


@pytest.mark.parametrize('path', NOTEBOOKS, ids=ids)
def test_framework_groups_are_well_formed(path):
    """相邻的带框架标签的单元组成一组：MXNet 的单元在前、PyTorch 的在后，两边都有代码。"""
    nb = load(path)
    for group in editions.groups(nb):
        frameworks = [fw for _, fw in group]
        assert frameworks == sorted(frameworks, key=editions.FRAMEWORKS.index), \
            f'{path.name}: 单元 {[i for i, _ in group]} 中 MXNet 的单元应在 PyTorch 的单元之前'
        for fw in editions.FRAMEWORKS:
            assert any(f == fw and nb['cells'][i]['cell_type'] == 'code' for i, f in group), \
                f'{path.name}: 单元 {[i for i, _ in group]} 这一组缺少 {editions.LABELS[fw]} 的代码'


LOCAL_PATH = re.compile(r'(/work/|/root/|/home/|/tmp/|site-packages)')


@pytest.mark.parametrize('path', NOTEBOOKS, ids=ids)
def test_stored_outputs_have_no_warnings_or_local_paths(path):
    """读者看到的输出里没有警告（stderr）和运行机器上的路径：它们是代码的问题，应在代码里解决。"""
    nb = load(path)
    for i, c in enumerate(nb['cells']):
        for o in c.get('outputs', []):
            text = source({'source': o.get('text', '')}) + source({'source': o.get('data', {}).get('text/plain', '')})
            assert o.get('name') != 'stderr', f'{path.name}: 单元 {i} 的输出里有 stderr：{text[:120]!r}'
            m = LOCAL_PATH.search(text)
            assert not m, f'{path.name}: 单元 {i} 的输出里有本机路径 {m.group(0)}：{text[:120]!r}'


BILINGUAL_SECTIONS = re.compile(r'^(1|2|3|4|5)\.|^6\.5$')


@pytest.mark.parametrize('path', NOTEBOOKS, ids=ids)
def test_chapters_1_to_5_and_6_5_have_both_editions(path):
    nb = load(path)
    wanted = bool(BILINGUAL_SECTIONS.match(section_number(path)))
    assert editions.is_bilingual(nb) == wanted, \
        f'{path.name}: ' + ('应有 MXNet 与 PyTorch 两个版本' if wanted else '第 6 章（6.5 除外）只有 PyTorch 版')


@pytest.mark.parametrize('path', NOTEBOOKS, ids=ids)
def test_exercises_with_answers_close_every_section(path):
    """## 练习 在 ## 小结 之后；2～4 道题，每道题（**练习k**）紧跟着它的参考答案（带 answer 标签的单元）。"""
    nb = load(path)
    cells = nb['cells']
    heads = [i for i, c in enumerate(cells) if c['cell_type'] == 'markdown' and re.search(r'^## 练习', source(c), re.M)]
    summary = [i for i, c in enumerate(cells) if c['cell_type'] == 'markdown' and re.search(r'^## 小结', source(c), re.M)]
    assert len(heads) == 1 and summary and summary[-1] < heads[0], f'{path.name}: ## 练习 应在 ## 小结 之后，且只有一个'
    exercises = [i for i, c in enumerate(cells) if c['cell_type'] == 'markdown' and 'answer' not in tags(c)
                 and source(c).lstrip().startswith('**练习')]
    assert 2 <= len(exercises) <= 4, f'{path.name}: 应有 2～4 道练习，现在 {len(exercises)} 道'
    assert all(i > heads[0] for i in exercises)
    numbers = [re.match(r'\*\*练习(\d+)\*\*', source(cells[i]).lstrip()) for i in exercises]
    assert [int(m.group(1)) if m else None for m in numbers] == list(range(1, len(exercises) + 1)), \
        f'{path.name}: 练习应依次编号 **练习1**、**练习2**……'
    for k, i in enumerate(exercises):
        end = exercises[k + 1] if k + 1 < len(exercises) else len(cells)
        answer = cells[i + 1:end]
        assert answer and all('answer' in tags(c) for c in answer), \
            f'{path.name}: 练习{k + 1} 之后应紧跟着它的参考答案（一段带 answer 标签的单元，直到下一道题）'
        assert answer[0]['cell_type'] == 'markdown', f'{path.name}: 练习{k + 1} 的参考答案应以文字开头'
