// "N ideas" page script. It never builds HTML from model text: 'render' carries HTML the extension produced with
// every string escaped. Buttons post what they ask for; the extension validates every message.
(function () {
  const vscode = acquireVsCodeApi();
  const root = document.getElementById('root');

  window.addEventListener('message', (event) => {
    const msg = event.data;
    if (msg && typeof msg === 'object' && msg.type === 'render' && typeof msg.html === 'string') root.innerHTML = msg.html;
  });

  root.addEventListener('click', (event) => {
    const button = event.target instanceof Element ? event.target.closest('button') : null;
    if (!button || button.disabled) return;
    if (button.hasAttribute('data-apply')) vscode.postMessage({ type: 'apply', ideaId: button.getAttribute('data-apply') });
    else if (button.hasAttribute('data-cancel')) vscode.postMessage({ type: 'cancel' });
    else if (button.hasAttribute('data-verify')) vscode.postMessage({ type: 'verify' });
  });

  vscode.postMessage({ type: 'ready' });
})();
