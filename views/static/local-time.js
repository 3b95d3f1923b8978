// Times the server wrote in UTC (`<time datetime=… data-local>`) shown in the reader's own time
// zone, which only the browser knows; the zone's name goes where `data-local-zone` asks for it.
// A time-zone picker marked `data-browser-zone` (a new schedule) starts on the reader's zone.
(function () {
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var format = new Intl.DateTimeFormat(undefined, { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' });
  function localize(root) {
    // Each once (htmx also announces the page itself when it starts).
    root.querySelectorAll('time[data-local]:not([title])').forEach(function (t) {
      var when = new Date(t.getAttribute('datetime'));
      if (isNaN(when.getTime())) return;
      t.title = t.textContent;
      t.textContent = format.format(when);
    });
    root.querySelectorAll('[data-local-zone]').forEach(function (el) {
      el.textContent = 'your time zone, ' + zone;
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
