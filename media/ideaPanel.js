// Idea panel page script. It never builds HTML from model text: 'render' carries HTML the extension produced with
// every string escaped, and streamed tokens are appended with textContent.
(function () {
  const vscode = acquireVsCodeApi();
  const root = document.getElementById('root');

  window.addEventListener('message', (event) => {
    const msg = event.data;
    if (!msg || typeof msg !== 'object') return;
    if (msg.type === 'render' && typeof msg.html === 'string') {
      root.innerHTML = msg.html;
    } else if (msg.type === 'token' && typeof msg.delta === 'string') {
      if (msg.channel === 'thinking') {
        const wrap = document.getElementById('live-thinking-wrap');
        const pre = document.getElementById('live-thinking');
        if (wrap && pre) {
          wrap.hidden = false;
          pre.textContent += msg.delta;
        }
      } else {
        const live = document.getElementById('live');
        if (live) {
          live.textContent += msg.delta;
          live.scrollTop = live.scrollHeight;
        }
      }
    }
  });

  root.addEventListener('click', (event) => {
    const fix = event.target instanceof Element ? event.target.closest('[data-fix]') : null;
    if (fix) {
      vscode.postMessage({ type: 'fix', index: Number(fix.getAttribute('data-fix')) });
      return;
    }
    const target = event.target instanceof Element ? event.target.closest('[data-command]') : null;
    if (!target) return;
    vscode.postMessage({ type: 'command', command: target.getAttribute('data-command'), ideaId: target.getAttribute('data-idea') || undefined });
  });

  vscode.postMessage({ type: 'ready' });
})();
