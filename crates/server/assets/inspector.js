// The request inspector's live table (Setup > Request Inspector). Each call recorded from now
// on arrives from /console/inspector/live (Server-Sent Events, `event: call`) and, when it
// matches the page's filters, becomes the table's first row. EventSource reconnects by itself
// and resumes after the last call it saw (Last-Event-ID). Without this script the page is a
// plain table: reload it for new calls.
(function () {
  'use strict';
  var table = document.getElementById('inspector-calls');
  var status = document.getElementById('inspector-live-status');
  if (!table || !status || !window.EventSource) {
    return;
  }
  var tbody = table.tBodies[0];
  var empty = document.getElementById('inspector-empty');
  var want = {
    host: table.getAttribute('data-host') || '',
    status: table.getAttribute('data-status') || '',
    q: (table.getAttribute('data-q') || '').toLowerCase()
  };
  var MAX_ROWS = 200;
  var HOSTS = {
    token: 'Token endpoint',
    interaction: 'Interaction API',
    pubSub: 'Pub/Sub API',
    admin: 'Admin API'
  };

  function failed(c) {
    var n = parseInt(c.status, 10);
    return isNaN(n) ? String(c.status).toUpperCase() !== 'OK' : n >= 400;
  }

  function matches(c) {
    if (want.host && want.host.toLowerCase() !== String(c.host).toLowerCase()) {
      return false;
    }
    if (want.status === 'failed' && !failed(c)) {
      return false;
    }
    if (want.status === 'ok' && failed(c)) {
      return false;
    }
    if (!want.q) {
      return true;
    }
    return [c.operation, c.app, c.user, c.status, c.errorCode, c.diagnosis].some(function (v) {
      return v && String(v).toLowerCase().indexOf(want.q) !== -1;
    });
  }

  // The server's format: 2026-01-01 12:00:00.123 UTC.
  function time(ms) {
    return new Date(ms).toISOString().replace('T', ' ').replace('Z', ' UTC');
  }

  function duration(us) {
    var ms = us / 1000;
    if (ms < 1) {
      return ms.toFixed(2) + ' ms';
    }
    if (ms < 100) {
      return ms.toFixed(1) + ' ms';
    }
    return Math.floor(ms) + ' ms';
  }

  function cell(tr, text, className) {
    var td = document.createElement('td');
    if (className) {
      td.className = className;
    }
    td.textContent = text || '';
    tr.appendChild(td);
    return td;
  }

  function row(c) {
    var tr = document.createElement('tr');
    var bad = failed(c);
    tr.setAttribute('data-call-id', String(c.id));
    tr.setAttribute('data-host', c.host);
    tr.setAttribute('data-status', bad ? 'failed' : 'ok');
    cell(tr, time(c.at));
    cell(tr, HOSTS[c.host] || c.host);
    var caller = cell(tr, c.app || '', 'caller');
    if (c.app && c.user) {
      caller.appendChild(document.createElement('br'));
    }
    if (c.user) {
      caller.appendChild(document.createTextNode(c.user));
    }
    var op = cell(tr, '');
    var link = document.createElement('a');
    link.href = '/lightning/setup/RequestInspector/' + encodeURIComponent(c.id);
    link.textContent = c.operation;
    op.appendChild(link);
    cell(tr, c.status, bad ? 'fail' : 'ok');
    cell(tr, c.errorCode);
    cell(tr, duration(c.durationMicros));
    var diagnosis = cell(tr, c.diagnosis, 'diagnosis');
    if (c.fixHref && c.fixHref.charAt(0) === '/') {
      var fix = document.createElement('a');
      fix.className = 'fix';
      fix.href = c.fixHref;
      fix.textContent = 'Fix';
      var hidden = document.createElement('span');
      hidden.className = 'visually-hidden';
      hidden.textContent = ' call ' + c.id;
      fix.appendChild(hidden);
      diagnosis.appendChild(document.createTextNode(' '));
      diagnosis.appendChild(fix);
    }
    return tr;
  }

  function add(c) {
    if (!matches(c) || tbody.querySelector('tr[data-call-id="' + Number(c.id) + '"]')) {
      return;
    }
    tbody.insertBefore(row(c), tbody.firstChild);
    while (tbody.rows.length > MAX_ROWS) {
      tbody.deleteRow(tbody.rows.length - 1);
    }
    if (empty) {
      empty.hidden = true;
    }
    status.textContent = 'New call: ' + c.operation + ' ' + c.status;
  }

  var source = new EventSource(status.getAttribute('data-live-url'));
  source.addEventListener('open', function () {
    status.textContent = 'Live: new calls appear at the top.';
  });
  source.addEventListener('call', function (e) {
    try {
      add(JSON.parse(e.data));
    } catch (err) {
      // A malformed event is skipped; the next one still shows.
    }
  });
  source.addEventListener('error', function () {
    status.textContent = source.readyState === EventSource.CLOSED
      ? 'Live updates stopped; reload the page.'
      : 'Reconnecting…';
  });
})();
