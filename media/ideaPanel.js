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
      remember();
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

  /** Sends the follow-up a button asks for; the free-text box must not be empty (said in place). */
  function followUp(button) {
    const kind = button.getAttribute('data-followup');
    const ideaId = button.getAttribute('data-idea');
    const msg = { type: 'followUp', kind, ideaId };
    if (kind === 'free') {
      const box = document.getElementById('followup-text');
      const error = document.getElementById('followup-error');
      const text = box ? box.value.trim() : '';
      if (!text) {
        if (error) {
          error.textContent = 'Type a question first.';
          error.hidden = false;
        }
        if (box) box.focus();
        return;
      }
      msg.text = text;
    }
    vscode.postMessage(msg);
  }

  root.addEventListener('keydown', (event) => {
    // Ctrl/Cmd+Enter in the question box sends it.
    if (event.target instanceof HTMLTextAreaElement && event.target.id === 'followup-text' && event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      const send = root.querySelector('[data-followup="free"]');
      if (send) followUp(send);
    }
  });

  root.addEventListener('click', (event) => {
    const ask = event.target instanceof Element ? event.target.closest('[data-followup]') : null;
    if (ask) {
      followUp(ask);
      return;
    }
    const fix = event.target instanceof Element ? event.target.closest('[data-fix]') : null;
    if (fix) {
      vscode.postMessage({ type: 'fix', index: Number(fix.getAttribute('data-fix')) });
      return;
    }
    const target = event.target instanceof Element ? event.target.closest('[data-command]') : null;
    if (!target) return;
    event.preventDefault();
    vscode.postMessage({ type: 'command', command: target.getAttribute('data-command'), ideaId: target.getAttribute('data-idea') || undefined });
  });

  /** The idea on show, kept with the page so a reload of the window shows the same idea again. */
  function remember() {
    const shown = root.querySelector('[data-idea-id]');
    vscode.setState({ ideaId: shown ? shown.getAttribute('data-idea-id') : undefined });
  }

  remember();
  vscode.postMessage({ type: 'ready' });
})();
