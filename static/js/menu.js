// The header's menus are <details> and work without this script. With it, opening one
// closes the others, Escape closes the open one (focus back on its summary), and a click
// elsewhere on the page closes them.
(function () {
  "use strict";
  var menus = Array.prototype.slice.call(document.querySelectorAll(".site-header details.menu"));
  function closeAll(except) {
    menus.forEach(function (menu) {
      if (menu !== except) menu.open = false;
    });
  }
  menus.forEach(function (menu) {
    menu.addEventListener("toggle", function () {
      if (menu.open) closeAll(menu);
    });
    menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && menu.open) {
        menu.open = false;
        menu.querySelector("summary").focus();
      }
    });
  });
  document.addEventListener("click", function (event) {
    if (!event.target.closest(".site-header details.menu")) closeAll(null);
  });
})();
