// The Logs settings: follows a job's log over server-sent events (the API's /tail), appending
// each line as text (never as HTML: a log is the content's output) and keeping the view at
// its end unless the reader scrolled up. The page keeps the last MAX_LINES lines: a job that
// prints for days must not grow the page without end. The Logs tab may arrive by htmx (a tab
// switched in place): it is followed then too, and its stream closed when the tab goes.
(function () {
  var MAX_LINES = 5000;
  var open = [];
  function follow(pre) {
    var status = document.getElementById(pre.getAttribute('aria-describedby'));
    var events = new EventSource(pre.getAttribute('data-tail'));
    open.push({ pre: pre, events: events });
    var say = function (text) {
      if (status) status.textContent = text;
    };
    say('Following the log…');
    events.onmessage = function (e) {
      var entry = JSON.parse(e.data);
      var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.appendChild(document.createTextNode(entry.data + '\n'));
      while (pre.childNodes.length > MAX_LINES) pre.removeChild(pre.firstChild);
      if (atEnd) pre.scrollTop = pre.scrollHeight;
    };
    events.addEventListener('end', function () {
      events.close();
      say('The job has ended.');
    });
    // The stream replays the log from its start: reconnecting by itself would show it twice,
    // so the reader restarts it, from a clean view.
    events.onerror = function () {
      events.close();
      say('The log stream stopped.');
      if (!status) return;
      var again = document.createElement('button');
      again.type = 'button';
      again.className = 'secondary';
      again.textContent = 'Follow again';
      again.addEventListener('click', function () {
        again.remove();
        pre.textContent = '';
        follow(pre);
      });
      status.after(again);
    };
  }
  // htmx also announces the page itself once it starts: each log is followed once.
  function wire(root) {
    root.querySelectorAll('pre[data-tail]:not([data-following])').forEach(function (pre) {
      pre.setAttribute('data-following', '');
      follow(pre);
    });
  }
  wire(document);
  document.addEventListener('htmx:load', function (e) {
    wire(e.detail.elt);
  });
  document.addEventListener('htmx:beforeSwap', function (e) {
    open = open.filter(function (o) {
      if (!e.detail.target.contains(o.pre)) return true;
      o.events.close();
      return false;
    });
  });
})();
