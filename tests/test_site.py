"""构建好的网站（_build/html，由 make site 生成）：不依赖外部资源、中文搜索、在真实浏览器中的检查。

浏览器检查用 Debian 的 chromium 与 chromium-driver（selenium，无头、无网络），
截图保存在 _build/screenshots/。

两个框架的版本（tools/editions.py、tools/sphinx_editions.py、_static/editions.js）：双框架页面上的
MXNet | PyTorch 切换（全书有效、跨页面和重新载入保留、不运行 JavaScript 时两个框架都显示）、
每个笔记本页面标题下的来源行、来源页的表、按版本下载的 .ipynb 与 .zip（解压后能在全新内核中运行）。
"""
import http.server
import json
import re
import shutil
import threading
import time
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import nbformat
import pytest

from book import ROOT, toc_files
from tools import editions

pytestmark = pytest.mark.site
HTML = ROOT / '_build' / 'html'
SHOTS = ROOT / '_build' / 'screenshots'

# 每章一页（含公式、图、训练输出或示意图），加首页
PAGES = {
    'front': 'intro.html',
    'ch1': 'chapters/ch01_preliminaries/1.5.1_computation-graph.html',
    'ch2': 'chapters/ch02_linear-networks/2.2.3_softmax-regression-scratch.html',
    'ch3': 'chapters/ch03_mlp/3.1_mlp-basics.html',
    'ch4': 'chapters/ch04_deep-learning-computation/4.2_parameters.html',
    'ch5': 'chapters/ch05_cnn/5.6_lenet.html',
    'ch6': 'chapters/ch06_modern-cnn/6.6_resnet.html',
}
SCREENSHOTS = {'front': 'front.png', 'ch5': 'ch5-lenet.png', 'ch6': 'ch6-resnet.png'}


@pytest.fixture(scope='module')
def built():
    if not (HTML / 'index.html').exists():
        pytest.fail('没有找到 _build/html：先运行 make site（make test 会先构建网站）')
    return HTML


# ------------------------------------------------------------ 不依赖外部资源
class _Resources(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.styles, self._in_style = [], [], False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ('script', 'img', 'iframe', 'source', 'audio', 'video', 'embed') and a.get('src'):
            self.refs.append((tag, a['src']))
        if tag == 'link' and a.get('href') and a.get('rel') not in ('canonical',):
            self.refs.append((tag, a['href']))
        if tag == 'object' and a.get('data'):
            self.refs.append((tag, a['data']))
        if a.get('style'):
            self.styles.append(a['style'])
        self._in_style = tag == 'style'

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


EXTERNAL = re.compile(r'^\s*(?:[a-z][a-z0-9+.-]*:)?//', re.I)
CSS_EXTERNAL = re.compile(r'(?:@import\s+(?:url\()?|url\()\s*[\'"]?\s*((?:[a-z]+:)?//[^\'")\s]+)', re.I)


def test_no_external_resources(built):
    pages = sorted(built.rglob('*.html'))
    assert len(pages) > 40
    offenders = []
    for page in pages:
        parser = _Resources()
        parser.feed(page.read_text(encoding='utf-8', errors='replace'))
        for tag, ref in parser.refs:
            if EXTERNAL.match(ref) and not ref.startswith('data:'):
                offenders.append(f'{page.relative_to(built)}: <{tag}> {ref}')
        for style in parser.styles:
            offenders += [f'{page.relative_to(built)}: {m}' for m in CSS_EXTERNAL.findall(style)]
    for css in built.rglob('*.css'):
        offenders += [f'{css.relative_to(built)}: {m}' for m in
                      CSS_EXTERNAL.findall(css.read_text(encoding='utf-8', errors='replace'))]
    assert not offenders, '网站引用了外部资源：\n' + '\n'.join(offenders[:30])


def test_mathjax_served_locally(built):
    page = (built / 'notation.html').read_text(encoding='utf-8')
    m = re.search(r'<script[^>]+src="([^"]*mathjax[^"]*)"', page, re.I)
    assert m, '数学符号页没有加载 MathJax'
    local = (built / m.group(1).split('?')[0]).resolve()
    assert local.is_file(), local


def test_no_mermaid_or_thebe(built):
    for page in built.rglob('*.html'):
        text = page.read_text(encoding='utf-8', errors='replace')
        assert not re.search(r'<script[^>]+mermaid|class="mermaid', text, re.I), page
        assert not re.search(r'<script[^>]+src="[^"]*thebe', text, re.I), page
        assert 'THEBE_JS_URL' not in text, page


def test_site_language_and_download_buttons(built):
    page = (built / PAGES['ch5']).read_text(encoding='utf-8')
    assert re.search(r'<html[^>]+lang="zh[-_]CN"', page)
    assert '.ipynb' in page and 'download' in page.lower()


def test_chinese_search_index(built):
    text = (built / 'searchindex.js').read_text(encoding='utf-8')
    index = json.loads(text[text.index('(') + 1: text.rindex(')')])
    docnames = index['docnames']

    def docs(word):
        found = []
        for table in ('terms', 'titleterms'):
            hit = index[table].get(word, [])
            found += [docnames[d] for d in (hit if isinstance(hit, list) else [hit])]
        return found
    expect = {'卷积': 'chapters/ch05_cnn/', '汇聚': 'chapters/ch05_cnn/5.5',
              '汇聚层': 'chapters/ch05_cnn/5.5', '批量规范化': 'chapters/ch06_modern-cnn/6.5',
              '暂退法': 'chapters/ch03_mlp/3.5'}
    for word, prefix in expect.items():
        assert any(d.startswith(prefix) for d in docs(word)), \
            f'搜索“{word}”找不到 {prefix}（需要 html_search_language: zh、jieba 与 tools/search_dict.txt）：{docs(word)}'


def test_notebook_pages_show_outputs_and_figures(built):
    for key in ('ch2', 'ch5'):
        page = (built / PAGES[key]).read_text(encoding='utf-8')
        assert 'cell_output' in page and '<img' in page, key
        assert 'test acc' in page, f'{key}: 训练输出应出现在页面上'


def test_gpu_cells_carry_the_badge_class(built):
    page = (built / PAGES['ch6']).read_text(encoding='utf-8')
    assert 'tag_gpu' in page
    assert 'tag_gpu' in (built / '_static' / 'custom.css').read_text(encoding='utf-8')


# ------------------------------------------------------------ 浏览器
@pytest.fixture(scope='module')
def server(built):
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(built), **kwargs)

        def log_message(self, *args):
            pass

    class Quiet(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass
    httpd = Quiet(('127.0.0.1', 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}/'
    httpd.shutdown()
    httpd.server_close()


def _chromium(tmp_path_factory, javascript=True):
    webdriver = pytest.importorskip('selenium.webdriver')
    chromium = shutil.which('chromium') or '/usr/bin/chromium'
    driver_bin = shutil.which('chromedriver') or '/usr/bin/chromedriver'
    if not (Path(chromium).exists() and Path(driver_bin).exists()):
        pytest.fail('需要 Debian 的 chromium 与 chromium-driver：sudo apt-get install chromium chromium-driver')
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                 '--disable-background-networking', '--disable-component-update', '--disable-sync',
                 '--disable-dev-shm-usage', '--window-size=1280,900', '--lang=zh-CN',
                 f'--user-data-dir={tmp_path_factory.mktemp("chromium")}'):
        opts.add_argument(flag)
    if not javascript:
        opts.add_experimental_option('prefs', {'profile.managed_default_content_settings.javascript': 2})
    opts.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    driver = webdriver.Chrome(service=Service(driver_bin), options=opts)
    driver.set_page_load_timeout(60)
    return driver


@pytest.fixture(scope='module')
def browser(tmp_path_factory):
    driver = _chromium(tmp_path_factory)
    yield driver
    driver.quit()


def _wait(driver, script, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if driver.execute_script(script):
            return True
        time.sleep(0.2)
    return False


MATH_DONE = '''return window.MathJax && MathJax.startup && MathJax.startup.document &&
  document.querySelectorAll('mjx-container').length > 0;'''
PROSE_TEXT = '''const a = document.querySelector('article') || document.body;
  const c = a.cloneNode(true); c.querySelectorAll('pre, code, mjx-container, script').forEach(e => e.remove());
  return c.innerText;'''
BROKEN_IMAGES = '''return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))
  .map(i => i.getAttribute('src'));'''
BROKEN_OBJECTS = '''return Array.from(document.querySelectorAll('object')).filter(o => {
  try { return !(o.contentDocument && o.contentDocument.documentElement &&
                 o.contentDocument.documentElement.getBoundingClientRect().width > 0); }
  catch (e) { return true; } }).map(o => o.getAttribute('data'));'''


def _severe(driver):
    return [e for e in driver.get_log('browser') if e['level'] == 'SEVERE']


@pytest.mark.parametrize('key', list(PAGES))
def test_page_in_browser(browser, server, key):
    browser.get(server + PAGES[key])
    _wait(browser, 'return document.readyState === "complete"')
    if browser.execute_script('return document.querySelectorAll(".math").length > 0'):
        assert _wait(browser, MATH_DONE), f'{PAGES[key]}: MathJax 没有排版公式'
    prose = browser.execute_script(PROSE_TEXT)
    assert '$$' not in prose and not re.search(r'\$[^$\s][^$]*\$', prose), \
        f'{PAGES[key]}: 页面上残留未排版的 $…$'
    _wait(browser, 'return Array.from(document.images).every(i => i.complete)')
    assert browser.execute_script(BROKEN_IMAGES) == [], f'{PAGES[key]}: 有图片没有加载'
    _wait(browser, 'return Array.from(document.querySelectorAll("object")).every(o => o.contentDocument)', 10)
    assert browser.execute_script(BROKEN_OBJECTS) == [], f'{PAGES[key]}: 有示意图没有加载'
    if key != 'front':
        outputs = browser.execute_script(
            'return Array.from(document.querySelectorAll(".cell_output")).filter(e => e.offsetHeight > 0).length')
        assert outputs > 0, f'{PAGES[key]}: 看不到代码输出'
    assert _severe(browser) == [], f'{PAGES[key]}: 控制台报错'
    if key in SCREENSHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        browser.execute_script('window.scrollTo(0, 0)')
        browser.save_screenshot(str(SHOTS / SCREENSHOTS[key]))
        if key != 'front':  # 再截一张页面中部：图与输出
            browser.execute_script(
                'const o = document.querySelector(".cell_output img, object.graphviz, .graphviz");'
                'if (o) o.scrollIntoView({block: "center"});')
            time.sleep(0.3)
            browser.save_screenshot(str(SHOTS / SCREENSHOTS[key].replace('.png', '-figure.png')))


SEARCHES = {'卷积': 'chapters/ch05_cnn/', '汇聚': 'chapters/ch05_cnn/5.5_pooling',
            '批量规范化': 'chapters/ch06_modern-cnn/6.5_batch-norm', '暂退法': 'chapters/ch03_mlp/3.5_weight-decay'}


@pytest.mark.parametrize('word', list(SEARCHES))
def test_search_in_browser(browser, server, word):
    browser.get(server + 'search.html?q=' + quote(word))
    assert _wait(browser, 'return document.querySelectorAll("#search-results li, ul.search li").length > 0', 60), \
        f'搜索“{word}”没有结果'
    links = browser.execute_script(
        'return Array.from(document.querySelectorAll("#search-results li a, ul.search li a")).map(a => a.href)')
    assert any(SEARCHES[word] in l for l in links), links
    assert _severe(browser) == []
    if word == '卷积':
        SHOTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SHOTS / 'search.png'))


def test_dark_mode_keeps_figures_readable(browser, server):
    browser.get(server + PAGES['ch5'])
    _wait(browser, 'return document.readyState === "complete"')
    browser.execute_script('document.documentElement.dataset.theme = "dark"')
    time.sleep(0.3)
    # 深色模式下图的底色仍是浅色（主题给图片加浅灰底；我们的 PNG 本身是白底）
    bg = browser.execute_script(
        'const i = document.querySelector(".cell_output img"); return i ? getComputedStyle(i).backgroundColor : null')
    rgb = [int(v) for v in re.findall(r'\d+', bg)[:3]]
    assert sum(rgb) / 3 > 180, bg
    graph = browser.execute_script(
        'const g = document.querySelector(".graphviz"); return g ? getComputedStyle(g).backgroundColor : null')
    assert graph and sum(int(v) for v in re.findall(r'\d+', graph)[:3]) / 3 > 180, graph
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / 'ch5-lenet-dark.png'))


# ------------------------------------------------------------ 两个框架的版本、来源与下载
DOWNLOADS = '_downloads/editions'
FRAMEWORK_KEY = 'd2l-framework'


def _notebook_pages():
    """目录中的每个笔记本页面：[(docname, 笔记本)]，按目录顺序。"""
    pages = []
    for doc in toc_files():
        path = ROOT / f'{doc}.ipynb'
        if path.exists():
            pages.append((doc, nbformat.read(path, as_version=4)))
    return pages


NOTEBOOK_PAGES = _notebook_pages()
NOTEBOOKS = dict(NOTEBOOK_PAGES)
BILINGUAL = [doc for doc, nb in NOTEBOOK_PAGES if editions.is_bilingual(nb)]
EDITION_FILES = [(doc, ed) for doc, nb in NOTEBOOK_PAGES for ed in editions.editions(nb)]


def _page(built, doc):
    return (built / f'{doc}.html').read_text(encoding='utf-8')


def _text(fragment):
    """HTML 片段中的文字（去掉标签、还原实体）。"""
    import html
    return html.unescape(re.sub(r'<[^>]+>', '', fragment))


def _chapter(doc):
    return doc.split('/')[1] if doc.startswith('chapters/') else doc


def _rel(doc, target):
    """从页面 doc 到网站根目录下 target 的相对地址（file:// 下也能用）。"""
    return '../' * doc.count('/') + target


def _uses_data_hub(nb, edition):
    code = '\n'.join(editions.source(nb.cells[i]) for i in editions.edition_indices(nb, edition)
                     if nb.cells[i].cell_type == 'code')
    return bool(re.search(r'''\bdownload\(\s*['"]|\bDATA_HUB\b''', code))


def test_bilingual_pages_exist():
    assert BILINGUAL, ('目录中还没有双框架的笔记本：第 1～5 章和 6.5 节的笔记本应当带 mxnet/pytorch 单元标签'
                       '（见 tools/editions.py），网站上显示为 MXNet | PyTorch 切换')


@pytest.mark.parametrize('doc', BILINGUAL)
def test_switch_groups_in_static_html(built, doc):
    """不运行 JavaScript 时：每组是一个 d2l-switch，两个框架的代码都在页面里，各有标签，都不隐藏。"""
    page, nb = _page(built, doc), NOTEBOOKS[doc]
    groups = editions.groups(nb)
    assert len(re.findall(r'<div class="d2l-switch[ "]', page)) == len(groups), '每组带框架标签的单元应当是一个切换块'
    for fw, label in editions.LABELS.items():
        with_fw = [g for g in groups if any(f == fw for _, f in g)]
        single = [g for g in with_fw if all(f == fw for _, f in g)]
        assert page.count(f'<div class="d2l-pane d2l-pane-{fw} d2l-only-{fw} docutils container">') == len(with_fw)
        assert page.count(f'<p class="d2l-pane-label">{label}</p>') == len(with_fw) - len(single)
        assert page.count(f'<p class="d2l-pane-label">仅{label}版</p>') == len(single)
    assert not re.search(r'<html[^>]*data-d2l-framework', page), '静态页面不能预先选定框架'
    assert not re.search(r'class="d2l-(?:pane|prov-line)[^"]*"[^>]*(?:hidden|style=)', page)
    text = _text(page)
    for i, fw in (x for g in groups for x in g):
        cell = nb.cells[i]
        if cell.cell_type == 'code':
            first = next(l for l in editions.source(cell).splitlines() if l.strip())
            assert first in text, f'{fw} 单元的代码不在页面上：{first!r}'


@pytest.fixture(scope='module')
def browser_nojs(tmp_path_factory):
    driver = _chromium(tmp_path_factory, javascript=False)
    yield driver
    driver.quit()


SHOWN = 'return Array.from(document.querySelectorAll(arguments[0])).map(e => e.getClientRects().length > 0);'


def test_without_javascript_both_frameworks_show(browser_nojs, server):
    if not BILINGUAL:
        pytest.skip('还没有双框架的页面（见 test_bilingual_pages_exist）')
    from selenium.webdriver.common.by import By
    doc = BILINGUAL[0]
    browser_nojs.get(server + doc + '.html')
    _wait(browser_nojs, 'return document.readyState === "complete"')
    assert browser_nojs.find_elements(By.CSS_SELECTOR, '.d2l-tab') == [], '禁用 JavaScript 时不应出现切换按钮'
    for cls in ('d2l-pane-mxnet', 'd2l-pane-pytorch', 'd2l-pane-label', 'd2l-prov-line'):
        # 折叠着的参考答案（<details>）里的块本来就看不见，不算在内
        found = browser_nojs.find_elements(
            By.XPATH, f'//*[contains(concat(" ", @class, " "), " {cls} ")][not(ancestor::details)]')
        assert found and all(e.is_displayed() for e in found), f'禁用 JavaScript 时 .{cls} 应当都显示'
    labels = {e.text for e in browser_nojs.find_elements(By.CSS_SELECTOR, '.d2l-pane-label')}
    assert {'MXNet', 'PyTorch'} <= labels, labels
    SHOTS.mkdir(parents=True, exist_ok=True)
    first = browser_nojs.find_element(By.CSS_SELECTOR, '.d2l-switch')
    browser_nojs.execute_script('arguments[0].scrollIntoView({block: "start"}); window.scrollBy(0, -80);', first)
    browser_nojs.save_screenshot(str(SHOTS / 'editions-nojs.png'))


def _framework(driver):
    return driver.execute_script('return document.documentElement.getAttribute("data-d2l-framework")')


def _check_selected(driver, fw, where):
    other = next(f for f in editions.FRAMEWORKS if f != fw)
    shown = driver.execute_script(SHOWN, f'.d2l-only-{fw}')
    assert shown and all(shown), f'{where}：选了 {fw}，{fw} 的代码块/来源行应当显示'
    assert not any(driver.execute_script(SHOWN, f'.d2l-only-{other}')), f'{where}：选了 {fw}，{other} 的内容应当隐藏'
    states = driver.execute_script(
        'return Array.from(document.querySelectorAll(".d2l-tab")).map('
        't => [t.dataset.d2lFramework, t.getAttribute("aria-selected"), t.tabIndex, t.tagName]);')
    assert states, f'{where}：没有切换按钮'
    for tab_fw, selected, tabindex, tag in states:
        assert tag == 'BUTTON'
        assert (selected == 'true') == (tab_fw == fw) and (tabindex == 0) == (tab_fw == fw), states


def _shot(driver, name, selector='.d2l-switch'):
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.execute_script('const e = document.querySelector(arguments[0]);'
                          'if (e) { e.scrollIntoView({block: "start"}); window.scrollBy(0, -120); }', selector)
    time.sleep(0.3)
    driver.save_screenshot(str(SHOTS / name))


@pytest.mark.parametrize('doc', BILINGUAL)
def test_framework_switch_in_browser(browser, server, doc):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    b, stem = browser, Path(doc).name
    b.get(server + doc + '.html')
    b.execute_script(f'localStorage.removeItem("{FRAMEWORK_KEY}")')
    b.refresh()
    _wait(b, 'return document.readyState === "complete"')
    try:
        # 默认是笔记的框架 MXNet；每个切换块有 MXNet | PyTorch 两个按钮（role="tab"）
        assert _framework(b) == 'mxnet'
        groups = [g for g in editions.groups(NOTEBOOKS[doc]) if len({f for _, f in g}) > 1]
        tablists = b.execute_script(
            'return Array.from(document.querySelectorAll(".d2l-switch > .d2l-tabs[role=tablist]")).map('
            'l => Array.from(l.querySelectorAll("button[role=tab]")).map(t => t.textContent).join("|"));')
        assert tablists == ['MXNet|PyTorch'] * len(groups)
        assert b.find_elements(By.CSS_SELECTOR, '.d2l-provenance > .d2l-tabs button[role=tab]'), '来源行上方应有切换'
        _check_selected(b, 'mxnet', doc)
        assert not any(b.execute_script(SHOWN, '.d2l-switch:not(.d2l-switch-single) .d2l-pane-label')), \
            '有切换按钮时不再显示框架标签'
        _shot(b, f'editions-{stem}-mxnet.png')

        # 点 PyTorch：本页所有切换块和来源行都换成 PyTorch，选择记在 localStorage 中
        tab = b.find_element(By.CSS_SELECTOR, '.d2l-switch .d2l-tab[data-d2l-framework="pytorch"]')
        b.execute_script('arguments[0].scrollIntoView({block: "center"})', tab)
        tab.click()
        assert _framework(b) == 'pytorch'
        _check_selected(b, 'pytorch', doc)
        assert b.execute_script(f'return localStorage.getItem("{FRAMEWORK_KEY}")') == 'pytorch'
        _shot(b, f'editions-{stem}-pytorch.png')
        b.execute_script('document.documentElement.dataset.theme = "dark"')
        _shot(b, f'editions-{stem}-pytorch-dark.png')
        colors = b.execute_script(
            'const t = document.querySelector(".d2l-switch .d2l-tab[aria-selected=true]"), s = getComputedStyle(t);'
            'return [s.color, s.backgroundColor, getComputedStyle(document.body).backgroundColor];')
        rgb = [[int(v) for v in re.findall(r'\d+', c)[:3]] for c in colors]
        assert rgb[0] != rgb[1] and rgb[1] != rgb[2], f'深色模式下选中的按钮看不清：{colors}'
        b.execute_script('document.documentElement.dataset.theme = "light"')

        # 键盘：左右方向键在按钮之间移动并切换
        tab = b.find_element(By.CSS_SELECTOR, '.d2l-switch .d2l-tab[data-d2l-framework="pytorch"]')
        tab.send_keys(Keys.ARROW_LEFT)
        assert _framework(b) == 'mxnet'
        assert b.execute_script('return document.activeElement.dataset.d2lFramework') == 'mxnet'
        b.switch_to.active_element.send_keys(Keys.ARROW_RIGHT)
        assert _framework(b) == 'pytorch'
        assert b.execute_script('return document.activeElement.dataset.d2lFramework') == 'pytorch'

        # 换到另一章的页面、再重新载入：仍是 PyTorch
        other = next((d for d in BILINGUAL if _chapter(d) != _chapter(doc)), None) \
            or next(d for d, _ in NOTEBOOK_PAGES if _chapter(d) != _chapter(doc))
        for step in ('navigate', 'reload'):
            if step == 'navigate':
                b.get(server + other + '.html')
            else:
                b.refresh()
            _wait(b, 'return document.readyState === "complete"')
            assert _framework(b) == 'pytorch', f'{step} 到 {other} 后选择没有保留'
            if other in BILINGUAL:
                _check_selected(b, 'pytorch', f'{other}（{step}）')
        b.get(server + doc + '.html')
        _wait(b, 'return document.readyState === "complete"')
        _check_selected(b, 'pytorch', f'{doc}（回到本页）')
        assert _severe(b) == [], f'{doc}: 控制台报错'
    finally:
        b.execute_script(f'localStorage.removeItem("{FRAMEWORK_KEY}")')


@pytest.mark.parametrize('doc', [d for d, _ in NOTEBOOK_PAGES])
def test_provenance_line(built, doc):
    """标题下的来源行：每个版本一行，内容来自笔记本元数据；没有记录的版本会显示“输出未记录来源”，这里不允许。"""
    page, nb = _page(built, doc), NOTEBOOKS[doc]
    m = re.search(r'</h1>\s*<div class="d2l-provenance"[^>]*>(.*?)</div>', page, re.S)
    assert m, f'{doc}：标题下没有来源行'
    box = m.group(1)
    eds = editions.editions(nb)
    lines = re.findall(r'<p class="(d2l-prov-line[^"]*)" data-d2l-edition="(\w+)"[^>]*>(.*?)</p>', box, re.S)
    assert [ed for _, ed, _ in lines] == eds
    assert '未记录' not in _text(box) and 'd2l-prov-missing' not in box, f'{doc}：有版本的输出没有记录来源'
    for classes, ed, line in lines:
        prov, text = editions.provenance(nb, ed), _text(line)
        for key in ('device', 'framework'):
            if prov.get(key):
                assert prov[key] in text, (key, text)
        assert prov['date'][:10] in text
        if prov.get('scale'):
            assert {'full': '完整规模', 'reduced': '缩减规模'}[prov['scale']] in text
        stem = Path(doc).name
        for suffix in ('.ipynb', '.zip'):
            assert f'href="{_rel(doc, f"{DOWNLOADS}/{stem}-{ed}{suffix}")}"' in line
        assert (f'd2l-only-{ed}' in classes) == (len(eds) > 1)


def test_stored_outputs_match_the_code(built):
    """存储的输出是用现在的代码运行出来的（代码哈希一致），网站上的“代码已改动”标记与此一致。"""
    stale = []
    for doc, nb in NOTEBOOK_PAGES:
        bad = [ed for ed in editions.editions(nb) if (editions.provenance(nb, ed) or {}).get('code_sha256')
               not in (None, editions.code_hash(nb, ed))]
        assert ('d2l-prov-stale' in _page(built, doc)) == bool(bad), doc
        stale += [f'{doc}（{ed}）' for ed in bad]
    assert not stale, '这些版本的代码在运行之后改过，需要重新执行（make execute）：\n' + '\n'.join(stale)


def test_provenance_page_lists_every_notebook(built):
    page = (built / 'provenance.html').read_text(encoding='utf-8')
    start = page.index('d2l-provenance-table')
    table = page[start: page.index('</table>', start)]
    for head in ('小节', '版本', '设备', '日期', '规模', '用时', '软件版本', '代码未改动'):
        assert f'>{head}' in table, head
    rows = re.findall(r'<tr class="[^"]*d2l-edition-(\w+)', table)
    assert len(rows) == len(EDITION_FILES), (len(rows), len(EDITION_FILES))
    for doc, nb in NOTEBOOK_PAGES:
        assert f'href="{doc}.html"' in table, f'来源页没有列出 {doc}'
    assert '未记录' not in _text(table)
    # 页脚说明输出来自来源行记录的运行，并链接到来源页（相对地址）
    deep = (built / PAGES['ch5']).read_text(encoding='utf-8')
    footer = deep[deep.index('extra_footer'):]
    assert f'href="{_rel(PAGES["ch5"], "provenance.html")}"' in footer[:2000]
    assert '每个数字都来自' not in deep


def test_provenance_page_in_browser(browser, server):
    browser.get(server + 'provenance.html')
    _wait(browser, 'return document.readyState === "complete"')
    rows = browser.execute_script(SHOWN, 'table.d2l-provenance-table tbody tr')
    assert len(rows) == len(EDITION_FILES) and all(rows)
    assert _severe(browser) == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.execute_script('document.querySelector("table.d2l-provenance-table").scrollIntoView({block: "start"});'
                           'window.scrollBy(0, -150);')
    browser.save_screenshot(str(SHOTS / 'provenance.png'))


@pytest.mark.parametrize('doc,edition', EDITION_FILES)
def test_edition_downloads(built, doc, edition):
    """每个版本一个 .ipynb 和一个 .zip（笔记本 + utils/ 源文件 + 需要时的 data/ + 三行 README）；笔记本就是这个版本。"""
    nb, stem = NOTEBOOKS[doc], Path(doc).name
    base = built / DOWNLOADS / f'{stem}-{edition}'
    page = _page(built, doc)
    for suffix in ('.ipynb', '.zip'):
        assert Path(f'{base}{suffix}').is_file(), f'{base}{suffix}'
        assert f'href="{_rel(doc, f"{DOWNLOADS}/{stem}-{edition}{suffix}")}"' in page
    assert f'href="{_rel(doc, f"_sources/{doc}.ipynb")}"' not in page, '下载菜单不应再提供两个框架合在一起的源文件'
    top = f'{stem}-{edition}/'
    with zipfile.ZipFile(f'{base}.zip') as z:
        assert z.testzip() is None
        names = set(z.namelist())
        assert all(n.startswith(top) for n in names), names
        utils = {p.relative_to(ROOT).as_posix(): p for p in (ROOT / 'utils').rglob('*.py')
                 if '__pycache__' not in p.parts}
        for rel, path in utils.items():
            assert z.read(top + rel) == path.read_bytes(), f'压缩包里的 {rel} 与仓库不同'
        assert not [n for n in names if '__pycache__' in n or n.endswith('.pyc')]
        data = [p for p in sorted((ROOT / 'data').rglob('*')) if p.is_file()] if (ROOT / 'data').is_dir() else []
        if data and _uses_data_hub(nb, edition):
            for p in data:
                assert z.read(top + p.relative_to(ROOT).as_posix()) == p.read_bytes()
        else:
            assert not [n for n in names if n.startswith(top + 'data/')]
        readme = z.read(top + 'README.md').decode('utf-8')
        assert len(readme.strip().splitlines()) == 3, readme
        inner = z.read(f'{top}{stem}.ipynb')
    assert inner == Path(f'{base}.ipynb').read_bytes()
    got = nbformat.reads(inner.decode('utf-8'), as_version=4)
    nbformat.validate(got)
    want = editions.extract(nb, edition)
    assert [c.id for c in got.cells] == [c.id for c in want.cells]
    assert [editions.source(c) for c in got.cells] == [editions.source(c) for c in want.cells]
    assert not [c.id for c in got.cells if set(editions.tags(c)) & set(editions.FRAMEWORKS)]
    others = {c.id for c in nb.cells if editions.cell_framework(c) not in (None, edition)}
    assert not others & {c.id for c in got.cells}, '下载的笔记本里有另一个框架的单元'
    assert editions.editions(got) == [edition]
    assert got.metadata['d2l']['edition'] == edition


@pytest.mark.parametrize('edition', editions.FRAMEWORKS)
def test_downloaded_zip_runs_in_a_fresh_kernel(built, edition):
    """解压一个小的双框架页面的压缩包，在全新内核中（工作目录是解压出的目录，没有 PYTHONPATH）从头到尾运行。"""
    cands = []
    for doc, nb in NOTEBOOK_PAGES:
        if editions.is_bilingual(nb) and edition in editions.editions(nb):
            code = '\n'.join(editions.source(c) for c in editions.extract(nb, edition).cells if c.cell_type == 'code')
            cands.append(('fashion_mnist' in code or _uses_data_hub(nb, edition), len(code), doc))
    if not cands:
        pytest.skip('还没有双框架的页面（见 test_bilingual_pages_exist）')
    doc = min(cands)[2]
    # 与 make check-downloads 同一个函数：解压到临时目录，全新内核，不设 PYTHONPATH，最后确认 utils 来自压缩包
    from tools.check_downloads import run_zip
    name, _, err = run_zip(built / DOWNLOADS / f'{Path(doc).name}-{edition}.zip', None)
    assert err is None, f'{name}：{err}'


# ------------------------------------------------------------ 练习与参考答案
def _answer_runs(nb):
    """笔记本中连续的 answer 单元段数。"""
    runs, prev = 0, False
    for c in nb.cells:
        cur = 'answer' in editions.tags(c)
        runs += cur and not prev
        prev = cur
    return runs


EXERCISE_PAGES = [d for d in NOTEBOOKS if _answer_runs(NOTEBOOKS[d])]


def test_every_section_has_exercises_with_answers():
    missing = [d for d in NOTEBOOKS if not _answer_runs(NOTEBOOKS[d])]
    assert not missing, f'这些小节没有带参考答案的练习：{missing}'


@pytest.mark.parametrize('doc', EXERCISE_PAGES)
def test_answers_are_folded_and_listed_in_the_page_toc(built, doc):
    page = _page(built, doc)
    nb = NOTEBOOKS[doc]
    details = re.findall(r'<details class="d2l-answer"([^>]*)><summary>参考答案</summary>', page)
    assert len(details) == _answer_runs(nb), f'{doc}: 参考答案块的个数与笔记本中的答案段数不同'
    assert all('open' not in attrs for attrs in details), f'{doc}: 参考答案应默认折叠'
    toc = page[page.find('id="pst-page-toc-nav"'):]
    assert re.search(r'<a class="reference internal nav-link" href="#[^"]+">练习</a>', toc), \
        f'{doc}: 页面右侧的目录里应有“练习”'


def test_answers_are_searchable(built):
    """答案的文字进入搜索索引：用网站的分词（jieba 与本书的词典）取一个只在答案的文字里出现的词，搜索能找到那一页。"""
    from sphinx.search.zh import SearchChinese
    text = (built / 'searchindex.js').read_text(encoding='utf-8')
    index = json.loads(text[text.index('(') + 1: text.rindex(')')])
    lang = SearchChinese({'dict': str(ROOT / 'tools' / 'search_dict.txt')})

    def words(cells):
        prose = ' '.join(re.sub(r'`[^`]*`|\$[^$]*\$', ' ', editions.source(c)) for c in cells)
        return {lang.stem(w) for w in lang.split(prose) if len(w) >= 2 and lang.word_filter(w)}
    checked = 0
    for doc in EXERCISE_PAGES:
        nb = NOTEBOOKS[doc]
        md = [c for c in nb.cells if c.cell_type == 'markdown']
        only = sorted(words([c for c in md if 'answer' in editions.tags(c)])
                      - words([c for c in md if 'answer' not in editions.tags(c)]))
        only = [w for w in only if w in index['terms']]
        if not only:
            continue
        hits = index['terms'][only[0]]
        hits = hits if isinstance(hits, list) else [hits]
        assert index['docnames'].index(doc) in hits, f'{doc}: 搜索答案里的“{only[0]}”找不到这一页'
        checked += 1
    assert checked >= len(EXERCISE_PAGES) // 2, f'只在 {checked} 页上验证了答案可以搜索到'


def test_graphviz_diagrams_have_accessible_names(built):
    """每个 graphviz 示意图的 <object> 有 role="img" 和非空的 aria-label（来自 :alt:）。"""
    seen = 0
    for page in sorted(built.rglob('*.html')):
        for tag in re.findall(r'<object [^>]*class="graphviz"[^>]*>', page.read_text(encoding='utf-8')):
            seen += 1
            assert 'role="img"' in tag and re.search(r'aria-label="[^"]{4,}"', tag), \
                f'{page.relative_to(built)}: 示意图没有可读的替代文字：{tag[:120]}'
    assert seen >= 10
