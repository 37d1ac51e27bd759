// Query review page script: sends the three boxes on Send (or Ctrl/Cmd+Enter) and Cancel; shows the errors the
// extension sends back next to their box. It never builds HTML from text: errors are set with textContent.
(function () {
  const vscode = acquireVsCodeApi();
  const form = document.getElementById('review');
  const fields = ['problemStatement', 'attemptsSoFar', 'goal'];

  function send() {
    const msg = { type: 'send' };
    for (const f of fields) msg[f] = document.getElementById(f).value;
    vscode.postMessage(msg);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    send();
  });
  document.getElementById('cancel').addEventListener('click', () => vscode.postMessage({ type: 'cancel' }));
  form.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      send();
    }
  });
  for (const f of fields) {
    document.getElementById(f).addEventListener('input', () => {
      const error = document.getElementById(`${f}-error`);
      error.hidden = true;
      document.getElementById(f).removeAttribute('aria-invalid');
    });
  }

  window.addEventListener('message', (event) => {
    const msg = event.data;
    if (!msg || msg.type !== 'errors' || typeof msg.errors !== 'object') return;
    let first;
    for (const f of fields) {
      const text = msg.errors[f];
      const error = document.getElementById(`${f}-error`);
      const box = document.getElementById(f);
      if (typeof text === 'string' && text) {
        error.textContent = text;
        error.hidden = false;
        box.setAttribute('aria-invalid', 'true');
        first = first || box;
      } else {
        error.hidden = true;
        box.removeAttribute('aria-invalid');
      }
    }
    if (first) first.focus();
  });

  document.getElementById('problemStatement').focus();
  vscode.postMessage({ type: 'ready' });
})();
