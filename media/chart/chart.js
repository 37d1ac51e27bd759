// Score chart behaviour: a hover/focus tooltip (text only: textContent, never HTML); clicking a run's point shows
// that run's curves; the run view's buttons go back to all runs or open the run's output.
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
  function showRun(el) { hide(); vscode.postMessage({ type: 'showRun', runId: el.getAttribute('data-run') }); }
  document.querySelectorAll('.pt').forEach(function (el) {
    // The SVG <title> is kept for screen readers; our tooltip replaces the native one on hover.
    el.addEventListener('mousemove', function (e) { show(el, e.clientX, e.clientY); });
    el.addEventListener('mouseleave', hide);
    el.addEventListener('focus', function () { const r = el.getBoundingClientRect(); show(el, r.right, r.top); });
    el.addEventListener('blur', hide);
    el.addEventListener('click', function () { showRun(el); });
    el.addEventListener('keydown', function (e) { if (e.key === 'Enter') showRun(el); });
  });
  document.querySelectorAll('button[data-action]').forEach(function (el) {
    el.addEventListener('click', function () {
      const action = el.getAttribute('data-action');
      if (action === 'back') vscode.postMessage({ type: 'back' });
      else if (action === 'openRun') vscode.postMessage({ type: 'openRun', runId: el.getAttribute('data-run') });
    });
  });
  document.addEventListener('keydown', function (e) { if (e.key === 'Escape' && document.body.classList.contains('run-view')) vscode.postMessage({ type: 'back' }); });
})();
