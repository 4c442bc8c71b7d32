// The staff console over the JSON API. Every text from the server is shown with textContent;
// every change sends the session's CSRF token.
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const status = $('status');
  let csrf = null;
  let queues = [];
  let current = null;

  function add(parent, tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined && text !== null) el.textContent = text;
    parent.appendChild(el);
    return el;
  }

  function safeHref(href) {
    return (typeof href === 'string' && (href.startsWith('/') && !href.startsWith('//') || href.startsWith('https://')))
      ? href : '#';
  }

  async function api(method, path, body) {
    const headers = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
    const response = await fetch('/api/v1' + path, {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    if (!response.ok) {
      status.textContent = (data && data.message) || ('HTTP ' + response.status);
      if (response.status === 401) show(false);
    }
    return { ok: response.ok, status: response.status, data };
  }

  function show(signedIn) {
    $('sign-in').hidden = signedIn;
    $('console').hidden = !signedIn;
    $('sign-out').hidden = !signedIn;
    if (!signedIn) { $('whoami').textContent = ''; csrf = null; }
  }

  async function signedIn(me) {
    csrf = me.csrf_token;
    $('whoami').textContent = me.user + ' (' + me.roles.join(', ') + ')';
    show(true);
    const q = await api('GET', '/queues');
    queues = q.ok ? q.data : [];
    const select = $('escalate-to');
    select.replaceChildren();
    queues.forEach((queue) => { const o = add(select, 'option', null, 'queue: ' + queue.name); o.value = 'queue:' + queue.id; });
    [['microsoft-commercial', 'Microsoft commercial support'], ['microsoft-technical', 'Microsoft technical support']]
      .forEach(([value, label]) => { const o = add(select, 'option', null, label); o.value = value; });
    await loadTickets();
    const hash = decodeURIComponent(window.location.hash.replace(/^#ticket\//, ''));
    if (hash && hash !== window.location.hash) openTicket(hash);
  }

  async function loadTickets() {
    const filter = $('status-filter').value;
    const result = await api('GET', '/tickets' + (filter ? '?status=' + encodeURIComponent(filter) : ''));
    if (!result.ok) return;
    const box = $('queues');
    box.replaceChildren();
    queues.forEach((queue) => {
      const tickets = result.data.filter((t) => t.queue === queue.id);
      const section = add(box, 'section', 'queue');
      section.dataset.queue = queue.id;
      add(section, 'h3', null, queue.name + ' (' + tickets.length + ')');
      if (!tickets.length) return;
      const table = add(section, 'table', 'tickets');
      const head = add(add(table, 'thead'), 'tr');
      ['Ticket', 'Status', 'Customer', 'Channel', 'Due', 'Summary'].forEach((h) => add(head, 'th', null, h).scope = 'col');
      const body = add(table, 'tbody');
      tickets.forEach((t) => {
        const row = add(body, 'tr');
        const link = add(add(row, 'td'), 'a', 'ticket-link', t.id);
        link.href = '#ticket/' + encodeURIComponent(t.id);
        link.addEventListener('click', (e) => { e.preventDefault(); openTicket(t.id); });
        add(row, 'td', null, t.status + (t.assignee ? ' (' + t.assignee + ')' : ''));
        add(row, 'td', 'customer', t.customer);
        add(row, 'td', null, t.channel);
        add(row, 'td', null, t.due || '');
        add(row, 'td', null, t.summary);
      });
    });
  }

  function fact(list, key, value) {
    if (value === undefined || value === null || value === '') return;
    add(list, 'dt', null, key);
    return add(list, 'dd', null, value);
  }

  function renderTicket(t) {
    current = t.id;
    window.location.hash = 'ticket/' + encodeURIComponent(t.id);
    $('ticket').hidden = false;
    $('ticket-title').textContent = 'Ticket ' + t.id;
    const facts = $('ticket-facts');
    facts.replaceChildren();
    fact(facts, 'Queue', t.queue);
    fact(facts, 'Status', t.status + (t.assignee ? ' by ' + t.assignee : ''));
    fact(facts, 'Customer', t.customer.display_name + ' (' + t.customer.adapter + ')');
    fact(facts, 'Due', t.due || '');
    (t.escalations || []).forEach((e) => fact(facts, 'Escalated', e.to + (e.queue ? ' ' + e.queue : '') + (e.case_number ? ', case ' + e.case_number : '')));
    const transcript = $('transcript');
    transcript.replaceChildren();
    t.transcript.forEach((entry) => {
      const item = add(transcript, 'li', 'message ' + entry.author.kind);
      add(item, 'span', 'who', entry.author.kind === 'staff' ? entry.author.user : entry.author.kind);
      add(item, 'p', 'text', entry.text);
    });
    const findings = $('findings');
    findings.replaceChildren();
    const f = t.findings || {};
    fact(findings, 'Summary', f.summary);
    fact(findings, 'Why', f.reason);
    if (f.trace) fact(findings, 'Decision', f.trace.reason);
    const entities = f.entities || {};
    (entities.amounts || []).forEach((m) => fact(findings, 'Amount', m.amount + ' ' + (m.currency || '')));
    (entities.invoice_numbers || []).forEach((n) => fact(findings, 'Invoice', n));
    (entities.products || []).forEach((p) => fact(findings, 'Product', typeof p === 'string' ? p : JSON.stringify(p)));
    if (f.suggested && f.suggested.length) {
      const dd = fact(findings, 'Suggested sections', ' ');
      dd.textContent = '';
      const list = add(dd, 'ul');
      f.suggested.forEach((c) => {
        const a = add(add(list, 'li'), 'a', null, c.title + ': ' + c.heading);
        a.href = safeHref(c.link || '/kb/' + c.citation.replace(/%/g, '%25').replace(/#/g, '%23'));
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
      });
    }
  }

  async function openTicket(id) {
    const result = await api('GET', '/tickets/' + encodeURIComponent(id));
    if (result.ok) renderTicket(result.data);
  }

  async function act(path, body) {
    if (!current) return;
    status.textContent = '';
    const result = await api('POST', '/tickets/' + encodeURIComponent(current) + path, body);
    if (result.ok) { renderTicket(result.data); status.textContent = 'Ticket ' + result.data.id + ': ' + result.data.status; loadTickets(); }
    return result.ok;
  }

  $('sign-in').addEventListener('submit', async (e) => {
    e.preventDefault();
    const result = await api('POST', '/staff/session', { user: $('user').value, password: $('password').value });
    $('password').value = '';
    if (result.ok) { status.textContent = ''; signedIn(result.data); }
  });
  $('sign-out').addEventListener('click', async () => { await api('DELETE', '/staff/session'); show(false); });
  $('refresh').addEventListener('click', loadTickets);
  $('status-filter').addEventListener('change', loadTickets);
  $('claim').addEventListener('click', () => act('/claim'));
  $('take-over').addEventListener('click', () => act('/take-over'));
  $('resolve').addEventListener('click', () => act('/resolve'));
  $('reply-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    if (await act('/reply', { text: $('reply').value })) $('reply').value = '';
  });
  $('escalate-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const to = $('escalate-to').value;
    const body = to.startsWith('queue:') ? { to: 'queue', queue: to.slice(6) } : { to, case_number: $('case-number').value };
    act('/escalate', body);
  });
  $('search-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const result = await api('GET', '/search?q=' + encodeURIComponent($('search').value));
    const list = $('results');
    list.replaceChildren();
    if (!result.ok) return;
    result.data.forEach((hit) => {
      const item = add(list, 'li');
      const a = add(item, 'a', null, hit.title + ': ' + hit.heading);
      a.href = safeHref(hit.href);
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      add(item, 'p', 'snippet', hit.snippet.replace(/\*\*/g, ''));
    });
  });
  api('GET', '/staff/session').then((r) => { if (r.ok) signedIn(r.data); else { status.textContent = ''; show(false); } });
})();
