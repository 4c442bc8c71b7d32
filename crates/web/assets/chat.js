// The customer chat: plain JavaScript, no build step. Every text from the server is shown with
// textContent, never as HTML.
(() => {
  'use strict';
  const TEXT = {
    de: {
      title: 'Support-Chat', label: 'Ihre Nachricht', send: 'Senden', human: 'Mit einem Menschen sprechen',
      languageHelp: 'Sprache dieser Seite wechseln', switchTo: 'English',
      helpful: 'War das hilfreich?', yes: 'Ja', no: 'Nein', sources: 'Quelle',
      ticket: 'Ticket', queue: 'Team', hours: 'Servicezeiten', contact: 'Kontakt', price: 'Preis',
      you: 'Sie', bot: 'Assistent', staff: 'Support', notice: 'Hinweis',
      failed: 'Nicht gesendet: ', retry: 'Ihre Nachricht steht noch im Eingabefeld.',
      offline: 'Verbindung unterbrochen; neue Antworten erscheinen, sobald sie wieder steht.',
    },
    en: {
      title: 'Support chat', label: 'Your message', send: 'Send', human: 'Talk to a person',
      languageHelp: 'Switch the language of this page', switchTo: 'Deutsch',
      helpful: 'Was this helpful?', yes: 'Yes', no: 'No', sources: 'Source',
      ticket: 'Ticket', queue: 'Team', hours: 'Service hours', contact: 'Contact', price: 'Price',
      you: 'You', bot: 'Assistant', staff: 'Support', notice: 'Note',
      failed: 'Not sent: ', retry: 'Your message is still in the box.',
      offline: 'Connection lost; new replies appear as soon as it is back.',
    },
  };
  const $ = (id) => document.getElementById(id);
  const log = $('log');
  const status = $('status');
  const input = $('message');
  const seen = new Set();
  let lastId = 0;
  let token = localStorage.getItem('switchboard-token');
  let lang = localStorage.getItem('switchboard-language') ||
    ((navigator.language || 'en').toLowerCase().startsWith('de') ? 'de' : 'en');
  let stream = null;

  function t(key) { return TEXT[lang][key]; }

  function applyLanguage() {
    document.documentElement.lang = lang;
    document.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
    $('language').textContent = t('switchTo');
    document.title = t('title');
  }

  async function api(method, path, body) {
    let response;
    try {
      response = await fetch('/api/v1' + path, {
        method,
        headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (_) {
      // Offline, or the server went away mid-request: the caller may send again.
      return { ok: false, status: 0, data: null };
    }
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    return { ok: response.ok, status: response.status, data };
  }

  // Only links to this server's pages or to https pages are followed.
  function safeHref(href) {
    return (typeof href === 'string' && (href.startsWith('/') && !href.startsWith('//') || href.startsWith('https://')))
      ? href : '#';
  }

  function add(parent, tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined && text !== null) el.textContent = text;
    parent.appendChild(el);
    return el;
  }

  function render(ev) {
    if (seen.has(ev.id)) return;
    seen.add(ev.id);
    lastId = Math.max(lastId, ev.id);
    const item = add(log, 'li', 'message ' + ev.author);
    item.dataset.id = ev.id;
    const who = ev.author === 'staff' && ev.staff ? ev.staff + ' (' + t('staff') + ')' : t(ev.author === 'customer' ? 'you' : ev.author);
    add(item, 'span', 'who', who);
    add(item, 'p', 'text', ev.text);
    if (ev.citations && ev.citations.length) {
      const list = add(item, 'ul', 'citations');
      list.setAttribute('aria-label', t('sources'));
      ev.citations.forEach((c) => {
        const link = add(add(list, 'li'), 'a', 'citation', c.heading && c.heading !== c.title ? c.title + ': ' + c.heading : c.title);
        link.href = safeHref(c.href);
        link.target = '_blank';
        link.rel = 'noopener noreferrer';
      });
    }
    if (ev.ticket) {
      const box = add(item, 'dl', 'ticket');
      [['ticket', ev.ticket.id], ['queue', ev.ticket.queue_name], ['hours', ev.ticket.hours],
        ['contact', ev.ticket.contact], ['price', ev.ticket.price]].forEach(([key, value]) => {
        if (!value) return;
        add(box, 'dt', null, t(key));
        add(box, 'dd', key === 'ticket' ? 'ticket-id' : null, value);
      });
    }
    if (ev.asks_feedback) {
      const group = add(item, 'div', 'feedback');
      group.setAttribute('role', 'group');
      add(group, 'span', null, t('helpful'));
      [['yes', true], ['no', false]].forEach(([key, helpful]) => {
        const button = add(group, 'button', 'secondary', t(key));
        button.type = 'button';
        button.addEventListener('click', () => {
          group.querySelectorAll('button').forEach((b) => { b.disabled = true; });
          send('/feedback', { helpful });
        });
      });
    }
    item.scrollIntoView({ block: 'end' });
  }

  async function start() {
    if (token) {
      const known = await api('GET', '/conversations/' + encodeURIComponent(token));
      if (known.ok) {
        if (!localStorage.getItem('switchboard-language') && known.data.language) lang = known.data.language;
        applyLanguage();
        known.data.events.forEach(render);
        listen();
        return;
      }
      token = null;
    }
    const started = await api('POST', '/conversations', { language: lang });
    if (!started.ok) {
      status.textContent = (started.data && started.data.message) || ('HTTP ' + started.status);
      return;
    }
    token = started.data.token;
    localStorage.setItem('switchboard-token', token);
    listen();
  }

  function listen() {
    if (stream) stream.close();
    stream = new EventSource('/api/v1/conversations/' + encodeURIComponent(token) + '/events?after=' + lastId);
    stream.onmessage = (e) => {
      status.textContent = '';
      JSON.parse(e.data).forEach(render);
    };
    stream.onerror = () => { status.textContent = t('offline'); };
  }

  // The message being sent and its id, until the server confirms it.
  let pending = null;

  function sendId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  async function send(path, body) {
    status.textContent = '';
    const result = await api('POST', '/conversations/' + encodeURIComponent(token) + path, body);
    if (!result.ok) {
      status.textContent = t('failed') + ((result.data && result.data.message) || ('HTTP ' + result.status)) + ' ' + t('retry');
      return false;
    }
    result.data.events.forEach(render);
    return true;
  }

  $('composer').addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    $('send').disabled = true;
    // The text stays in the box until the server has it; sent again, it keeps its id, so a
    // send whose answer was lost is not stored twice.
    if (!pending || pending.text !== text) pending = { text, id: sendId() };
    if (await send('/messages', { text, language: lang, id: pending.id })) {
      input.value = '';
      pending = null;
    }
    $('send').disabled = false;
    input.focus();
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      $('composer').requestSubmit();
    }
  });
  $('human').addEventListener('click', () => send('/handoff'));
  $('language').addEventListener('click', () => {
    lang = lang === 'de' ? 'en' : 'de';
    localStorage.setItem('switchboard-language', lang);
    applyLanguage();
  });
  applyLanguage();
  start();
})();
