"""基准测试的公共部分：计时、机器信息、Markdown 表格、改写 README 中的结果段落。"""
import datetime
import os
import platform
import re
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = Path(__file__).resolve().parent / 'README.md'


def now():
    return time.perf_counter()


def median(xs):
    return statistics.median(xs)


def cpu_model():
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average():
    try:
        return tuple(round(x, 2) for x in os.getloadavg())
    except OSError:
        return None


def machine_info(extra=None):
    """机器与软件版本；在子进程里调用时可以带上框架版本（extra）。"""
    import numpy
    info = {
        'date': datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z'),
        'cpu': cpu_model(),
        'cores': os.cpu_count(),
        'python': platform.python_version(),
        'numpy': numpy.__version__,
        'loadavg': load_average(),
    }
    for mod in ('mxnet', 'torch', 'torchvision', 'PIL'):
        try:
            m = __import__(mod)
            info[mod] = m.__version__
        except Exception:  # noqa: BLE001 -- 只是信息
            info[mod] = '未安装'
    if extra:
        info.update(extra)
    return info


def format_machine(info):
    la = info.get('loadavg')
    la_text = '、'.join(f'{x:g}' for x in la) if la else '未知'
    return (f'{info["date"]}；CPU：{info["cpu"]}，{info["cores"]} 个逻辑核；'
            f'Python {info["python"]}，numpy {info["numpy"]}，mxnet {info["mxnet"]}，'
            f'torch {info["torch"]}，torchvision {info["torchvision"]}，Pillow {info["PIL"]}；'
            f'开始时的负载（1/5/15 分钟平均）：{la_text}')


def table(header, rows):
    out = ['| ' + ' | '.join(header) + ' |',
           '|' + '|'.join('---' if i == 0 else '--:' for i in range(len(header))) + '|']
    for r in rows:
        out.append('| ' + ' | '.join(str(c) for c in r) + ' |')
    return '\n'.join(out)


def fmt_rate(x):
    return f'{x:,.0f}' if x >= 100 else f'{x:.1f}'


def fmt_ratio(x):
    return f'**{x:.1f}×**' if x >= 10 else f'**{x:.2f}×**'


def fmt_s(x):
    return f'{x:.2f}' if x < 10 else f'{x:.1f}'


def replace_section(name, body, readme=README):
    """把 README 中 ``<!-- results:NAME:start -->`` 与 ``<!-- results:NAME:end -->`` 之间的内容换成 body。"""
    start, end = f'<!-- results:{name}:start -->', f'<!-- results:{name}:end -->'
    text = readme.read_text(encoding='utf-8')
    pattern = re.compile(re.escape(start) + r'.*?' + re.escape(end), re.S)
    if not pattern.search(text):
        raise SystemExit(f'{readme} 中没有标记 {start} … {end}')
    text = pattern.sub(lambda m: start + '\n' + body.strip() + '\n' + end, text)
    readme.write_text(text, encoding='utf-8')
