"""书的结构：目录、标题编号、已执行且按顺序的输出、nbval 标记、gpu 单元、数学写法。"""
import re

import pytest

from book import ROOT, load, notebooks, section_number, source, tags, toc_files

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
def test_executed_in_order_with_outputs_and_no_errors(path):
    nb = load(path)
    code = [c for c in nb['cells'] if c['cell_type'] == 'code' and source(c).strip()]
    counts = [c.get('execution_count') for c in code]
    assert None not in counts, f'{path.name}: 有代码单元没有执行过'
    assert counts == list(range(1, len(code) + 1)), \
        f'{path.name}: 单元不是在一个全新内核中从头到尾执行的：{counts}'
    for c in code:
        for o in c.get('outputs', []):
            assert o.get('output_type') != 'error', f'{path.name}: 存储的输出含错误 {o.get("ename")}'
    assert any(c.get('outputs') for c in code), f'{path.name}: 没有任何存储的输出'
    assert nb['metadata'].get('kernelspec', {}).get('name') == 'python3'


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
            assert 'try_gpu' in source(c) or 'device' in source(c), \
                f'{path.name}: gpu 单元应根据设备决定规模'


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
    """tests/notebooks/gpu_gating.ipynb 在这台没有 GPU 的机器上执行过：输出说明了缩减规模。"""
    nb = load(ROOT / 'tests' / 'notebooks' / 'gpu_gating.ipynb')
    gpu_cells = [c for c in nb['cells'] if 'gpu' in tags(c)]
    assert gpu_cells
    text = ''.join(''.join(o.get('text', '')) for c in gpu_cells for o in c.get('outputs', []))
    assert '未检测到 GPU' in text and 'examples/sec on cpu' in text
