// Clients print `<server>/connect/#/apps/<guid>[/<tab>]` as the dashboard link. The fragment
// never reaches the server, so the page sends it on to the content's own page here; on the
// login page (where an unauthenticated visit lands first) it becomes where to go after login.
(function () {
  var m = /^#\/apps\/([0-9a-fA-F-]{36})(?:\/([a-z_]+))?/.exec(location.hash);
  if (!m) return;
  var target = '/apps/' + m[1] + (m[2] ? '/' + m[2] : '');
  if (location.pathname === '/connect' || location.pathname === '/connect/') {
    location.replace(target);
  } else if (location.pathname === '/login') {
    var next = document.querySelector('input[name="next"]');
    if (next) next.value = target;
  }
})();

// A destructive button says what it will do (`data-confirm`) and asks first. Without JavaScript
// the form posts at once, as any form does.
document.addEventListener('submit', function (e) {
  var button = e.submitter && e.submitter.closest('[data-confirm]');
  if (button && !window.confirm(button.getAttribute('data-confirm'))) e.preventDefault();
});

// A settings tab swapped in place by htmx: keep the keyboard where the reader was, on the tab
// now open, instead of losing focus to the page's start.
document.addEventListener('htmx:afterSwap', function (e) {
  var current = e.detail.target && document.querySelector('#settings nav [aria-current="page"]');
  if (current && e.detail.target.id === 'settings') current.focus();
});
