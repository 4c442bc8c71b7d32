// The embeddable chat: <script src="https://support.partner.example/widget.js" defer></script>
// on the partner's page adds a button that opens this server's chat page in a frame.
(() => {
  'use strict';
  const script = document.currentScript;
  const origin = new URL(script ? script.src : '/', window.location.href).origin;
  const german = (navigator.language || '').toLowerCase().startsWith('de');
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = german ? 'Support-Chat' : 'Support chat';
  button.setAttribute('aria-expanded', 'false');
  Object.assign(button.style, {
    position: 'fixed', right: '1rem', bottom: '1rem', zIndex: '2147483647', padding: '0.7rem 1.1rem',
    borderRadius: '2rem', border: '0', background: '#1f4e79', color: '#fff', font: 'inherit', cursor: 'pointer',
  });
  const frame = document.createElement('iframe');
  frame.title = button.textContent;
  frame.hidden = true;
  Object.assign(frame.style, {
    position: 'fixed', right: '1rem', bottom: '4.5rem', width: 'min(26rem, calc(100vw - 2rem))',
    height: 'min(36rem, calc(100vh - 6rem))', border: '1px solid #ccd', borderRadius: '0.5rem',
    background: '#fff', zIndex: '2147483647',
  });
  button.addEventListener('click', () => {
    if (!frame.src) frame.src = origin + '/';
    frame.hidden = !frame.hidden;
    button.setAttribute('aria-expanded', String(!frame.hidden));
    if (!frame.hidden) frame.focus();
  });
  document.body.appendChild(frame);
  document.body.appendChild(button);
})();
