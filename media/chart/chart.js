// Score chart behaviour: a hover/focus tooltip (text only: textContent, never HTML) and click-to-open a run.
// Loaded with the page's CSP nonce; no other script runs in the webview.
(function () {
  const vscode = acquireVsCodeApi();
  const tip = document.getElementById('tip');
  function show(el, x, y) {
    tip.textContent = el.getAttribute('data-tip') || '';
    tip.hidden = false;
    const w = tip.offsetWidth;
    const h = tip.offsetHeight;
    tip.style.left = Math.max(4, Math.min(x + 12, window.innerWidth - w - 4)) + 'px';
    tip.style.top = Math.max(4, y + 14 + h > window.innerHeight ? y - h - 8 : y + 14) + 'px';
  }
  function hide() { tip.hidden = true; }
  document.querySelectorAll('.pt').forEach(function (el) {
    // The SVG <title> is kept for screen readers; our tooltip replaces the native one on hover.
    el.addEventListener('mousemove', function (e) { show(el, e.clientX, e.clientY); });
    el.addEventListener('mouseleave', hide);
    el.addEventListener('focus', function () { const r = el.getBoundingClientRect(); show(el, r.right, r.top); });
    el.addEventListener('blur', hide);
    el.addEventListener('click', function () { vscode.postMessage({ type: 'openRun', runId: el.getAttribute('data-run') }); });
    el.addEventListener('keydown', function (e) { if (e.key === 'Enter') vscode.postMessage({ type: 'openRun', runId: el.getAttribute('data-run') }); });
  });
})();
