"""构建好的网站（_build/html，由 make site 生成）：不依赖外部资源、中文搜索、在真实浏览器中的检查。

浏览器检查用 Debian 的 chromium 与 chromium-driver（selenium，无头、无网络），
截图保存在 _build/screenshots/。
"""
import http.server
import json
import re
import shutil
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest

from book import ROOT

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


@pytest.fixture(scope='module')
def browser(tmp_path_factory):
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
    opts.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    driver = webdriver.Chrome(service=Service(driver_bin), options=opts)
    driver.set_page_load_timeout(60)
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
