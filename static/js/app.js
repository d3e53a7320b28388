// Small behaviours the pages share; no inline handlers, so the Content-Security-Policy
// allows no inline script.
"use strict";

// A <select data-autosubmit> sends its form as soon as a choice is made (the language picker).
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field.matches && field.matches("[data-autosubmit]") && field.form) {
    field.form.submit();
  }
});

// An <input data-select-on-focus> selects its whole value when focused (a secret to copy).
document.addEventListener("focusin", function (event) {
  var field = event.target;
  if (field.matches && field.matches("[data-select-on-focus]")) {
    field.select();
  }
});

// The header's "Menu" button (phone width, X-1): shows and hides the navigation it controls.
// Without this script the button stays hidden and the navigation stays open.
function setMenuOpen(toggle, open) {
  var menu = document.getElementById(toggle.getAttribute("aria-controls"));
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
  if (menu) {
    menu.classList.toggle("is-open", open);
  }
}

document.querySelectorAll("[data-menu-toggle]").forEach(function (toggle) {
  toggle.hidden = false;
  toggle.closest(".topbar").classList.add("menu-collapsible");
  toggle.addEventListener("click", function () {
    setMenuOpen(toggle, toggle.getAttribute("aria-expanded") !== "true");
  });
});

// Escape closes an open header menu or dropdown and gives focus back to what opened it;
// a click elsewhere closes the dropdowns (<details class="dropdown">).
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape") {
    return;
  }
  document.querySelectorAll("details.dropdown[open]").forEach(function (dropdown) {
    dropdown.open = false;
    dropdown.querySelector("summary").focus();
  });
  document.querySelectorAll("[data-menu-toggle][aria-expanded=true]").forEach(function (toggle) {
    setMenuOpen(toggle, false);
    toggle.focus();
  });
});

document.addEventListener("click", function (event) {
  document.querySelectorAll("details.dropdown[open]").forEach(function (dropdown) {
    if (!dropdown.contains(event.target)) {
      dropdown.open = false;
    }
  });
});
