// The server writes times in UTC (it cannot know the viewer's zone); here each
// <time data-local datetime="..."> is rewritten in the browser's own time zone. With
// data-local="time" only the time of day is written, with "seconds" the seconds too (the audit log), and the agenda ([data-agenda]) is
// regrouped under the viewer's own days, so a run near midnight UTC lands on the right one.
(function () {
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var full = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  var withSeconds = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
  var timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });
  var dayTitle = new Intl.DateTimeFormat(undefined, { dateStyle: 'full' });
  // en-CA writes a date as YYYY-MM-DD: a key that sorts and fits a datetime attribute.
  var dayKey = new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit' });

  document.querySelectorAll('time[data-local]').forEach(function (el) {
    var at = new Date(el.getAttribute('datetime'));
    if (isNaN(at.getTime())) return;
    el.title = el.textContent;
    var style = el.dataset.local;
    el.textContent = (style === 'time' ? timeOnly : style === 'seconds' ? withSeconds : full).format(at);
  });

  document.querySelectorAll('[data-agenda]').forEach(function (agenda) {
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
  });

  document.querySelectorAll('[data-zone]').forEach(function (el) {
    el.textContent = 'Times are shown in your time zone, ' + zone + '.';
  });
})();
