/* The sidebar buttons of the article header work at every screen width.
   Registered in _config.yml (html_js_files); deferred like every script (ketamine_course/site_assets.py).

   pydata-sphinx-theme 0.17 opens the navigation and "On this page" drawers from the first
   .primary-toggle and .secondary-toggle on the page, which sit in its header bar; sphinx-book-theme
   1.3 hides that bar and shows its own buttons in the article header, which nothing listens to, so
   on a phone the hamburger and list buttons did nothing. A click on any later button of the same
   kind is handed to the first one, whose handlers (the drawer on a phone, the collapsed sidebar on
   a wide screen) then run as the themes intend. */
(function () {
  function forward(selector) {
    var buttons = document.querySelectorAll(selector);
    for (var i = 1; i < buttons.length; i++) {
      buttons[i].addEventListener("click", function (event) {
        event.preventDefault();
        event.stopPropagation();
        buttons[0].click();
      });
    }
  }
  function init() {
    forward("button.primary-toggle");
    forward("button.secondary-toggle");
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
