/* 两个框架的切换（MXNet | PyTorch）：选择对全书有效，记在 localStorage 中，跨页面、跨访问保留。
 *
 * 构建时 tools/sphinx_editions.py 把每组框架相关的单元包成
 *   div.d2l-switch > div.d2l-pane.d2l-only-<框架>（开头是框架名 p.d2l-pane-label）
 * 并在笔记本页面的标题下放来源行 div.d2l-provenance > p.d2l-prov-line[data-d2l-edition]。
 * 没有 JavaScript 时两个框架的内容都显示，各有标签。本脚本在 <head> 中同步运行：先在 <html> 上
 * 设置 data-d2l-framework（CSS 据此隐藏未选的框架，页面不会闪一下），页面就绪后加上切换按钮。
 * 不依赖任何外部资源，file:// 下也能用。
 */
(function () {
  'use strict';
  var KEY = 'd2l-framework';
  var FRAMEWORKS = ['mxnet', 'pytorch'];
  var LABELS = { mxnet: 'MXNet', pytorch: 'PyTorch' };
  var DEFAULT = 'mxnet'; // 笔记的框架
  var root = document.documentElement;
  var counter = 0;

  function valid(fw) { return FRAMEWORKS.indexOf(fw) >= 0; }

  function stored() {
    try {
      var v = window.localStorage.getItem(KEY);
      return valid(v) ? v : null;
    } catch (e) { return null; } // 禁用存储时只在本页有效
  }

  function current() {
    var v = root.getAttribute('data-d2l-framework');
    return valid(v) ? v : DEFAULT;
  }

  function apply(fw) {
    root.setAttribute('data-d2l-framework', fw);
    var tabs = document.querySelectorAll('.d2l-tab');
    for (var i = 0; i < tabs.length; i++) {
      var on = tabs[i].getAttribute('data-d2l-framework') === fw;
      tabs[i].setAttribute('aria-selected', on ? 'true' : 'false');
      tabs[i].tabIndex = on ? 0 : -1;
    }
  }

  function choose(fw, anchor) {
    if (!valid(fw)) return;
    // 别处的代码块换了框架、高度变了：保持被点的按钮在屏幕上的位置不动
    var before = anchor ? anchor.getBoundingClientRect().top : 0;
    apply(fw);
    if (anchor) window.scrollBy(0, anchor.getBoundingClientRect().top - before);
    try { window.localStorage.setItem(KEY, fw); } catch (e) { /* 只在本页有效 */ }
  }

  root.classList.add('d2l-js');
  apply(stored() || DEFAULT);

  function panesOf(box, selector) {
    var out = {};
    var kids = box.querySelectorAll(selector);
    for (var i = 0; i < kids.length; i++) {
      var fw = kids[i].getAttribute('data-d2l-edition');
      if (!fw) {
        for (var k = 0; k < FRAMEWORKS.length; k++) {
          if (kids[i].classList.contains('d2l-only-' + FRAMEWORKS[k])) fw = FRAMEWORKS[k];
        }
      }
      if (valid(fw) && !out[fw]) out[fw] = kids[i];
    }
    return out;
  }

  function onKey(event) {
    var keys = { ArrowLeft: -1, ArrowRight: 1, Home: 'first', End: 'last' };
    if (!(event.key in keys)) return;
    var tabs = Array.prototype.slice.call(event.currentTarget.parentNode.querySelectorAll('.d2l-tab'));
    var i = tabs.indexOf(event.currentTarget);
    var step = keys[event.key];
    var j = step === 'first' ? 0 : step === 'last' ? tabs.length - 1 : (i + step + tabs.length) % tabs.length;
    event.preventDefault();
    tabs[j].focus();
    choose(tabs[j].getAttribute('data-d2l-framework'), tabs[j]);
  }

  function addTabs(box, panes, where, title) {
    var list = document.createElement('div');
    list.className = 'd2l-tabs';
    list.setAttribute('role', 'tablist');
    list.setAttribute('aria-label', title);
    FRAMEWORKS.forEach(function (fw) {
      var pane = panes[fw];
      if (!pane) return;
      counter += 1;
      if (!pane.id) pane.id = 'd2l-pane-' + counter;
      var tab = document.createElement('button');
      tab.type = 'button';
      tab.className = 'd2l-tab';
      tab.id = 'd2l-tab-' + counter;
      tab.textContent = LABELS[fw];
      tab.setAttribute('role', 'tab');
      tab.setAttribute('data-d2l-framework', fw);
      tab.setAttribute('aria-controls', pane.id);
      pane.setAttribute('role', 'tabpanel');
      pane.setAttribute('aria-labelledby', tab.id);
      tab.addEventListener('click', function () { choose(fw, tab); });
      tab.addEventListener('keydown', onKey);
      list.appendChild(tab);
    });
    box.insertBefore(list, where);
    box.classList.add('d2l-has-tabs');
  }

  function init() {
    var boxes = document.querySelectorAll('.d2l-switch:not(.d2l-switch-single)');
    for (var i = 0; i < boxes.length; i++) {
      var panes = panesOf(boxes[i], ':scope > .d2l-pane');
      if (Object.keys(panes).length > 1) addTabs(boxes[i], panes, boxes[i].firstChild, '代码的框架');
    }
    var prov = document.querySelector('.d2l-provenance');
    if (prov) {
      var lines = panesOf(prov, ':scope > .d2l-prov-line');
      if (Object.keys(lines).length > 1) addTabs(prov, lines, prov.firstChild, '本书代码的框架（对全书有效）');
    }
    apply(current());
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();

  // 另一个标签页里换了框架
  window.addEventListener('storage', function (event) {
    if (event.key === KEY && valid(event.newValue)) apply(event.newValue);
  });
}());
