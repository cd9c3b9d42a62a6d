"""笔记本里展示的辅助函数必须与 utils 中的同名函数代码相同（一处定义，一处展示）。

比较的是抽象语法树：去掉文档字符串和注释，把 ``d2l.X`` 看作 ``X``。
"""
import ast
import importlib
import inspect
import textwrap

import pytest

from book import ROOT, load, notebooks, section_number, source
from tools import editions

# 笔记首次定义这些辅助函数的小节：那里的每个版本都必须完整展示它们
DEFINED_IN = {
    '2.1.2': ['synthetic_data', 'linreg', 'squared_loss', 'sgd'],
    '2.1.3': ['load_array'],
    '2.2.2': ['get_fashion_mnist_labels', 'show_images', 'load_data_fashion_mnist'],
    '2.2.3': ['accuracy', 'evaluate_accuracy', 'Accumulator', 'Animator',
              'train_epoch_ch3', 'train_ch3', 'predict_ch3'],
    '3.4': ['evaluate_loss'],
    '5.2': ['corr2d'],
    '5.6': ['try_gpu', 'evaluate_accuracy_gpu', 'train_ch6'],
}
# 只在某个版本里展示的（小节, 版本）：第 6 章第一次训练时展示 PyTorch 的训练代码
DEFINED_IN_EDITION = {
    ('6.1', 'pytorch'): ['TensorLoader', 'load_data_fashion_mnist', 'try_gpu', 'evaluate_accuracy_gpu',
                         'train_ch6', 'model_stats'],
}
UTILS_MODULE = {'mxnet': 'utils.mxnet', 'pytorch': 'utils.torch', 'python': 'utils.common'}


def expected_helpers(section, edition):
    return DEFINED_IN.get(section, []) + DEFINED_IN_EDITION.get((section, edition), [])


class _Normalize(ast.NodeTransformer):
    def visit_Attribute(self, node):
        self.generic_visit(node)
        if isinstance(node.value, ast.Name) and node.value.id == 'd2l':
            return ast.copy_location(ast.Name(id=node.attr, ctx=node.ctx), node)
        return node

    def _strip_doc(self, node):
        self.generic_visit(node)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], 'value', None), ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
        return node

    visit_FunctionDef = visit_ClassDef = visit_AsyncFunctionDef = _strip_doc


def normalized(node):
    return ast.dump(_Normalize().visit(node), annotate_fields=False)


def notebook_defs(nb):
    """笔记本代码单元里的顶层 def/class：名字 → AST 节点（后定义的覆盖先定义的）。"""
    defs = {}
    for cell in nb['cells']:
        if cell['cell_type'] != 'code':
            continue
        src = '\n'.join(l for l in source(cell).splitlines() if not l.lstrip().startswith(('%', '!')))
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defs[node.name] = node
    return defs


CASES = [(p, e) for p in notebooks() for e in editions.editions(load(p))]


@pytest.mark.parametrize('path,edition', CASES, ids=[f'{p.name}[{e}]' for p, e in CASES])
def test_shown_helpers_match_utils(path, edition):
    nb = editions.extract(load(path), edition)
    module = importlib.import_module(UTILS_MODULE[edition])
    defs = notebook_defs(nb)
    expected = expected_helpers(section_number(path), edition)
    missing = [n for n in expected if n not in defs]
    assert not missing, f'{path.name} [{edition}] 应完整展示这些辅助函数：{missing}'
    checked = 0
    for name, node in defs.items():
        obj = getattr(module, name, None)
        if obj is None or not getattr(obj, '__module__', '').startswith('utils'):
            continue
        util_node = ast.parse(textwrap.dedent(inspect.getsource(obj))).body[0]
        assert normalized(node) == normalized(util_node), (
            f'{path.name} [{edition}] 中的 {name} 与 {obj.__module__}.{name} 不同：'
            '改一处就要改另一处（或者给笔记本里的变体换个名字）')
        checked += 1
    if expected:
        assert checked >= len(expected)


def test_every_defining_section_exists():
    have = {section_number(p) for p in notebooks()}
    listed = set(DEFINED_IN) | {s for s, _ in DEFINED_IN_EDITION}
    # 在目录里却缺了定义辅助函数的小节，说明有笔记本被删掉或改了名
    from book import toc_files
    toc_sections = {section_number(ROOT / (f + '.ipynb')) for f in toc_files()
                    if (ROOT / (f + '.ipynb')).exists()}
    assert listed & toc_sections <= have


def test_comparison_sees_code_changes_but_not_comments_or_d2l_prefix():
    a = ast.parse('def f(x):\n    """doc"""\n    return d2l.g(x) + 1  # 注释\n').body[0]
    b = ast.parse('def f(x):\n    return g(x) + 1\n').body[0]
    c = ast.parse('def f(x):\n    return g(x) + 2\n').body[0]
    assert normalized(a) == normalized(b)
    assert normalized(b) != normalized(c)
