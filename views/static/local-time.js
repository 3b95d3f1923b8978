// The server writes times in UTC (it cannot know the viewer's zone); here each
// <time data-local datetime="..."> is rewritten in the browser's own time zone. With
// data-local="time" only the time of day is written, with "seconds" the seconds too (the audit
// log), with "day" the weekday too (a schedule's next runs). An agenda ([data-agenda]) is
// regrouped under the viewer's own days, so a run near midnight UTC lands on the right one;
// [data-zone] says which zone that is; a time-zone picker marked `data-browser-zone` (a new
// schedule) starts on it. Content htmx swaps in (a settings tab) gets the same, once.
(function () {
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var formats = {
    full: new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }),
    seconds: new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' }),
    time: new Intl.DateTimeFormat(undefined, { timeStyle: 'short' }),
    day: new Intl.DateTimeFormat(undefined, { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' }),
  };
  var dayTitle = new Intl.DateTimeFormat(undefined, { dateStyle: 'full' });
  // en-CA writes a date as YYYY-MM-DD: a key that sorts and fits a datetime attribute.
  var dayKey = new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit' });

  function regroup(agenda) {
    var runs = Array.prototype.slice.call(agenda.querySelectorAll('li[data-run]'));
    var level = (agenda.querySelector('[data-day]') || { tagName: 'H3' }).tagName;
    agenda.textContent = '';
    var list = null;
    var current = '';
    runs.forEach(function (li) {
      var at = new Date(li.querySelector('time').getAttribute('datetime'));
      var key = dayKey.format(at);
      if (key !== current) {
        current = key;
        var h = document.createElement(level);
        h.setAttribute('data-day', '');
        var t = document.createElement('time');
        t.setAttribute('datetime', key);
        t.textContent = dayTitle.format(at);
        h.appendChild(t);
        list = document.createElement('ul');
        list.className = 'plain agenda-day';
        agenda.appendChild(h);
        agenda.appendChild(list);
      }
      list.appendChild(li);
    });
  }

  function localize(root) {
    // Each once: htmx also announces the page itself when it starts.
    root.querySelectorAll('time[data-local]:not([title])').forEach(function (el) {
      var at = new Date(el.getAttribute('datetime'));
      if (isNaN(at.getTime())) return;
      el.title = el.textContent;
      el.textContent = (formats[el.dataset.local] || formats.full).format(at);
    });
    root.querySelectorAll('[data-agenda]:not([data-regrouped])').forEach(function (agenda) {
      agenda.setAttribute('data-regrouped', '');
      regroup(agenda);
    });
    root.querySelectorAll('[data-zone]').forEach(function (el) {
      el.textContent = 'Times are shown in your time zone, ' + zone + '.';
    });
    root.querySelectorAll('select[data-browser-zone]').forEach(function (select) {
      var known = Array.prototype.some.call(select.options, function (o) {
        return o.value === zone;
      });
      if (known) select.value = zone;
    });
  }

  localize(document);
  document.addEventListener('htmx:load', function (e) {
    localize(e.detail.elt);
  });
})();
