"""本地 Sphinx 扩展：网站不加载任何需要联网的脚本。

Jupyter Book 1.x 总是启用 sphinx-thebe；即使关掉了 Thebe 按钮，它仍在每页加入脚本，
那段脚本在被触发时会从 CDN 下载 Thebe。本书不提供在线运行代码，这里把这些脚本从页面中去掉。
"""


def _drop_thebe(app, pagename, templatename, context, doctree):
    scripts = context.get('script_files')
    if not scripts:
        return
    kept = []
    for js in scripts:
        body = getattr(js, 'attributes', {}).get('body', '') if hasattr(js, 'attributes') else ''
        if 'thebe' in str(js).lower() or 'thebe' in (body or '').lower():
            continue
        kept.append(js)
    context['script_files'] = kept
    css = context.get('css_files')
    if css:
        context['css_files'] = [c for c in css if 'thebe' not in str(c).lower()]


def setup(app):
    app.connect('html-page-context', _drop_thebe, priority=900)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
