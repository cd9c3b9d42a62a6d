"""绘图：中文字体、``set_figsize``、``plot``、``Animator``、``show_images``。

只依赖 matplotlib 和 numpy；在 Jupyter 中图以 PNG 保存（SVG 每次运行都不同，nbval 无法比较）。
"""
import matplotlib
import numpy as np
from matplotlib import font_manager
from matplotlib import pyplot as plt

__all__ = ['use_png_display', 'set_cjk_font', 'set_figsize', 'set_axes', 'to_numpy', 'plot',
           'Animator', 'show_images']

# 依次尝试的中文字体（Debian 的 fonts-noto-cjk 中 matplotlib 看到的是 Noto Sans CJK JP，
# 它同样覆盖简体中文）
CJK_FONTS = ['Noto Sans CJK SC', 'Noto Sans CJK JP', 'Noto Sans SC', 'Source Han Sans SC',
             'WenQuanYi Zen Hei', 'SimHei', 'Microsoft YaHei', 'PingFang SC']


def set_cjk_font():
    """把第一个可用的中文字体设为无衬线字体的首选；返回字体名，找不到时返回 None。"""
    available = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in available:
            fonts = list(matplotlib.rcParams['font.sans-serif'])
            matplotlib.rcParams['font.sans-serif'] = [name] + [f for f in fonts if f != name]
            matplotlib.rcParams['font.family'] = 'sans-serif'
            matplotlib.rcParams['axes.unicode_minus'] = False
            return name
    return None


def _ipython():
    """正在运行的 IPython shell；不在 IPython 中时为 None。"""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def use_png_display(dpi=100):
    """在 Jupyter 中以 PNG 显示图像。"""
    if _ipython() is None:  # 不在 Jupyter/IPython 中（否则 set_matplotlib_formats 会新建一个 shell）
        return
    from matplotlib_inline import backend_inline
    backend_inline.set_matplotlib_formats('png')
    matplotlib.rcParams['figure.dpi'] = dpi


CJK_FONT = set_cjk_font()
use_png_display()


def set_figsize(figsize=(3.5, 2.5)):
    """设置 matplotlib 的图表大小"""
    use_png_display()
    plt.rcParams['figure.figsize'] = figsize


def set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend):
    """设置 matplotlib 的轴"""
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_xscale(xscale)
    axes.set_yscale(yscale)
    axes.set_xlim(xlim)
    axes.set_ylim(ylim)
    if legend:
        axes.legend(legend)
    axes.grid()


def to_numpy(x):
    """把 MXNet/PyTorch 张量或列表转为 numpy 数组（不导入任何框架）。"""
    if hasattr(x, 'asnumpy'):
        return x.asnumpy()
    if hasattr(x, 'detach'):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def plot(X, Y=None, xlabel=None, ylabel=None, legend=None, xlim=None,
         ylim=None, xscale='linear', yscale='linear',
         fmts=('-', 'm--', 'g-.', 'r:'), figsize=(3.5, 2.5), axes=None):
    """绘制数据点"""
    if legend is None:
        legend = []
    set_figsize(figsize)
    axes = axes if axes else plt.gca()

    # 如果 X 有一个轴，输出 True
    def has_one_axis(X):
        return (hasattr(X, 'ndim') and X.ndim == 1 or isinstance(X, list)
                and not hasattr(X[0], '__len__'))

    if has_one_axis(X):
        X = [X]
    if Y is None:
        X, Y = [[]] * len(X), X
    elif has_one_axis(Y):
        Y = [Y]
    if len(X) != len(Y):
        X = X * len(Y)
    axes.cla()
    for x, y, fmt in zip(X, Y, fmts):
        x, y = to_numpy(x), to_numpy(y)
        if len(x):
            axes.plot(x, y, fmt)
        else:
            axes.plot(y, fmt)
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend)


class Animator:
    """在动画中绘制数据：训练时在 Jupyter 中实时刷新，结束后单元格里保留最终的图"""
    def __init__(self, xlabel=None, ylabel=None, legend=None, xlim=None,
                 ylim=None, xscale='linear', yscale='linear',
                 fmts=('-', 'm--', 'g-.', 'r:'), nrows=1, ncols=1,
                 figsize=(3.5, 2.5)):
        # 增量地绘制多条线
        if legend is None:
            legend = []
        use_png_display()
        self.fig, self.axes = plt.subplots(nrows, ncols, figsize=figsize)
        if nrows * ncols == 1:
            self.axes = [self.axes, ]
        # 使用 lambda 函数捕获参数
        self.config_axes = lambda: set_axes(
            self.axes[0], xlabel, ylabel, xlim, ylim, xscale, yscale, legend)
        self.X, self.Y, self.fmts = None, None, fmts
        self._handle = None
        plt.close(self.fig)  # 只通过 display 显示，避免单元格末尾再画一次

    def add(self, x, y):
        # 向图表中添加多个数据点
        if not hasattr(y, '__len__'):
            y = [y]
        n = len(y)
        if not hasattr(x, '__len__'):
            x = [x] * n
        if not self.X:
            self.X = [[] for _ in range(n)]
        if not self.Y:
            self.Y = [[] for _ in range(n)]
        for i, (a, b) in enumerate(zip(x, y)):
            if a is not None and b is not None:
                self.X[i].append(a)
                self.Y[i].append(b)
        self.axes[0].cla()
        for x, y, fmt in zip(self.X, self.Y, self.fmts):
            # 只有一个点的曲线画不出线段，用圆点标出
            self.axes[0].plot(x, y, fmt, marker='o' if len(x) == 1 else None)
        self.config_axes()
        self._show()

    def _show(self):
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:  # 没有安装 IPython：不显示
            return
        if get_ipython() is None:  # 不在 Jupyter 中：不显示
            return
        # 同一个输出区域原地更新：存下的输出只有最终的一张图
        if self._handle is None:
            self._handle = display(self.fig, display_id=True)
        else:
            self._handle.update(self.fig)


def show_images(imgs, num_rows, num_cols, titles=None, scale=1.5):
    """绘制图像列表"""
    use_png_display()
    figsize = (num_cols * scale, num_rows * scale)
    _, axes = plt.subplots(num_rows, num_cols, figsize=figsize, squeeze=False)
    axes = axes.flatten()
    for i, (ax, img) in enumerate(zip(axes, imgs)):
        img = to_numpy(img)
        ax.imshow(img, cmap='gray' if img.ndim == 2 else None)
        ax.axes.get_xaxis().set_visible(False)
        ax.axes.get_yaxis().set_visible(False)
        if titles:
            ax.set_title(titles[i])
    return axes
