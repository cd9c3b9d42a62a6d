# 本书的常用命令（在仓库根目录运行；每条命令都会自己准备环境，可以重复运行）
#   make site   构建网站，输出在 _build/html
#   make test   运行全部测试（单元、结构、nbval 重新执行每个笔记本、网站构建、浏览器检查）
#   make execute NB="chapters/ch01_preliminaries/*.ipynb" [FW=pytorch] [SCALE=full]
#               每个版本在全新内核中从头到尾执行并写回输出和来源（见 tools/execute.py）
#   make lab [FW=pytorch]   在 JupyterLab 中打开本书（每个笔记本是一个框架的版本）
#   make check-downloads  在全新内核中运行网站上的每个下载压缩包
#   make bench  运行基准测试并重写 benchmarks/README.md 中的表格

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export PYTHONPATH := $(CURDIR)
export TQDM_DISABLE := 1
# 注意：不要在这里设置 MPLBACKEND。内核的环境由 tools/execute.py 的 kernel_env() 给出（inline 后端）

# make execute 的选项：FW=mxnet|pytorch 只运行一个版本；SCALE=auto|full|reduced；ALLOW_REDUCED=1
FW ?=
SCALE ?= auto
EXECUTE_FLAGS = --scale $(SCALE) $(if $(FW),--framework $(FW)) $(if $(ALLOW_REDUCED),--allow-reduced)

.PHONY: env system-deps site test unit nbval execute lab check-downloads bench clean

# 系统软件包：每个目标只要求它用得到的（见 tools/system-deps.sh）
system-deps:
	@bash tools/system-deps.sh test

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "需要 Python 3.11，当前是 " + sys.version' \
	  || { echo "请安装 Python 3.11，或用 make PYTHON=/path/to/python3.11 指定"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	# 让 .venv 中的 Python（包括 Jupyter 内核）总能 import 本仓库的 utils
	$(PY) -c 'import site, pathlib; pathlib.Path(site.getsitepackages()[0], "d2l_notes_repo.pth").write_text("$(CURDIR)\n")'
	touch $(STAMP)

env: $(STAMP)

site: env
	@bash tools/system-deps.sh site
	@start=$$(date +%s); \
	$(VENV)/bin/jupyter-book build --all -W -n --keep-going . ; rc=$$?; \
	echo "网站构建用时 $$(( $$(date +%s) - start )) s，输出在 _build/html/index.html"; exit $$rc

test: env
	@bash tools/system-deps.sh test
	$(MAKE) --no-print-directory site
	$(PY) -m pytest

unit: env
	@bash tools/system-deps.sh unit
	$(PY) -m pytest tests -m "not site" -o addopts="-p no:cacheprovider -ra" -p no:nbval

execute: env
	@bash tools/system-deps.sh execute
	@test -n "$(NB)" || { echo '用法：make execute NB="chapters/ch05_cnn/*.ipynb" [FW=pytorch] [SCALE=full]'; exit 2; }
	$(PY) tools/execute.py $(EXECUTE_FLAGS) $(NB)

# 在 JupyterLab 中打开一个框架的版本（_build/lab/<框架>/），见 tools/lab.py
lab: env
	$(PY) tools/lab.py --framework $(or $(FW),mxnet) $(if $(REFRESH),--refresh)

# 像读者那样运行网站上的每个下载压缩包（解压、全新内核、不设 PYTHONPATH），见 tools/check_downloads.py
check-downloads: site
	@bash tools/system-deps.sh execute
	$(PY) tools/check_downloads.py

bench: env
	@bash tools/system-deps.sh bench
	$(PY) benchmarks/run.py

clean:
	rm -rf _build
