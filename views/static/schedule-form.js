// The Schedule form shows only the fields its chosen rule uses (each marked `data-for="<types>"`).
// Without JavaScript every field shows, each saying which rules it is for; hidden ones are
// disabled so they are not sent.
(function () {
  function wire(root) {
    // Each once (htmx also announces the page itself when it starts).
    root.querySelectorAll('form.schedule-form:not([data-wired])').forEach(function (form) {
      var type = form.querySelector('[data-schedule-type]');
      if (!type) return;
      form.setAttribute('data-wired', '');
      var sync = function () {
        form.querySelectorAll('[data-for]').forEach(function (part) {
          var on = part.getAttribute('data-for').split(' ').indexOf(type.value) >= 0;
          part.hidden = !on;
          part.querySelectorAll('input, select').forEach(function (input) {
            input.disabled = !on;
          });
        });
      };
      type.addEventListener('change', sync);
      sync();
    });
  }
  wire(document);
  document.addEventListener('htmx:load', function (e) {
    wire(e.detail.elt);
  });
})();
