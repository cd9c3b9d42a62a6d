"""本地 Sphinx 扩展：graphviz 示意图的替代文字对辅助技术可见。

sphinx.ext.graphviz 以 SVG 输出时把示意图放进 ``<object>``，``:alt:`` 只成为 ``<object>`` 里的后备段落
（``<p class="warning">``），读屏软件和 axe-core 都把这样的 ``<object>`` 当作没有替代文字。
这里在生成页面时给每个这样的 ``<object>`` 加上 ``role="img"`` 和 ``aria-label``（内容就是 ``:alt:``）。
"""
import re

_OBJECT = re.compile(r'<object (data="[^"]+" type="image/svg\+xml" class="graphviz")>(\s*<p class="warning">(.*?)</p>)',
                     re.S)


def _label(match):
    alt = re.sub(r'<[^>]+>', '', match.group(3)).strip()
    if not alt:
        return match.group(0)
    return f'<object {match.group(1)} role="img" aria-label="{alt}">{match.group(2)}'


def add_graphviz_labels(app, pagename, templatename, context, doctree):
    body = context.get('body')
    if body and 'class="graphviz"' in body:
        context['body'] = _OBJECT.sub(_label, body)


def setup(app):
    app.connect('html-page-context', add_graphviz_labels)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
