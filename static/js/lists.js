// List pages (issue 11) and bounded pickers (issue 21): the combobox's keyboard and choice,
// the bulk-action bar. No inline handlers, so the Content-Security-Policy holds.
"use strict";

(function () {
  var SEARCH_DELAY = 200;

  // --- combobox (crm_portal/widgets.py) -------------------------------------------------------

  function parts(input) {
    var box = input.closest(".combobox");
    return {
      box: box,
      listbox: document.getElementById(input.getAttribute("aria-controls")),
      select: box.querySelector("select.combobox-value"),
      multiple: input.dataset.combobox === "multiple",
    };
  }

  function options(listbox) {
    return Array.prototype.slice.call(listbox.querySelectorAll('[role="option"]'));
  }

  function open(input, isOpen) {
    var p = parts(input);
    p.listbox.hidden = !isOpen;
    input.setAttribute("aria-expanded", isOpen ? "true" : "false");
    if (!isOpen) {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function search(input) {
    clearTimeout(input._comboboxTimer);
    input._comboboxTimer = setTimeout(function () {
      input.dispatchEvent(new CustomEvent("combobox-search", { bubbles: false }));
    }, SEARCH_DELAY);
  }

  function highlight(input, option) {
    var p = parts(input);
    options(p.listbox).forEach(function (o) {
      o.classList.toggle("active", o === option);
      o.setAttribute("aria-selected", o === option ? "true" : "false");
    });
    if (option) {
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    }
  }

  function chosenLabel(select) {
    var chosen = select.querySelector("option[value]:checked:not([value=''])");
    return chosen ? chosen.textContent : "";
  }

  function choose(input, option) {
    var p = parts(input);
    var value = option.dataset.value;
    var label = option.dataset.label;
    if (p.multiple) {
      if (!p.select.querySelector('option[value="' + CSS.escape(value) + '"]')) {
        p.select.add(new Option(label, value, true, true));
        addChip(p.box, value, label);
      }
      input.value = "";
    } else {
      p.select.innerHTML = "";
      p.select.add(new Option("", ""));
      p.select.add(new Option(label, value, true, true));
      input.value = label;
    }
    open(input, false);
    p.select.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function addChip(box, value, label) {
    var chips = box.querySelector(".combobox-chips");
    var chip = document.createElement("li");
    chip.dataset.value = value;
    chip.textContent = label + " ";
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link combobox-remove";
    remove.setAttribute("aria-label", (box.dataset.removeLabel || "× %(name)s").replace("%(name)s", label));
    remove.textContent = "×";
    chip.appendChild(remove);
    chips.appendChild(chip);
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-combobox]")) {
      return;
    }
    var p = parts(input);
    if (!p.multiple && input.value === "") {
      p.select.value = ""; // clearing the text clears the choice
    }
    if (!event.isComposing) {
      search(input); // during an IME composition, wait for compositionend
    }
  });

  document.addEventListener("compositionend", function (event) {
    if (event.target.matches && event.target.matches("[data-combobox]")) {
      search(event.target);
    }
  });

  document.addEventListener("focusin", function (event) {
    var input = event.target;
    if (input.matches && input.matches("[data-combobox]") && !parts(input).listbox.children.length) {
      search(input);
    }
  });

  // htmx sends the typed text as ?q= (the input itself has no name: it is not a form value).
  document.addEventListener("htmx:configRequest", function (event) {
    var input = event.detail.elt;
    if (input.matches && input.matches("[data-combobox]")) {
      event.detail.parameters = { q: input.value };
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var listbox = event.detail.target;
    if (!listbox.matches || !listbox.matches(".combobox-listbox")) {
      return;
    }
    options(listbox).forEach(function (option, index) {
      option.id = listbox.id + "-" + index;
    });
    var input = document.querySelector('[aria-controls="' + listbox.id + '"]');
    if (input && document.activeElement === input) {
      open(input, true);
    }
  });

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-combobox]") || event.isComposing) {
      return;
    }
    var p = parts(input);
    var all = options(p.listbox);
    var active = p.listbox.querySelector(".active");
    var index = all.indexOf(active);
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (p.listbox.hidden) {
        open(input, true);
        if (!all.length) {
          search(input);
        }
      }
      var step = event.key === "ArrowDown" ? 1 : -1;
      if (all.length) {
        highlight(input, all[(index + step + all.length) % all.length]);
      }
    } else if (event.key === "Enter") {
      if (!p.listbox.hidden && active) {
        event.preventDefault(); // choose, don't submit the form
        choose(input, active);
      }
    } else if (event.key === "Escape") {
      if (!p.listbox.hidden) {
        event.preventDefault();
        open(input, false);
      } else if (!p.multiple) {
        input.value = chosenLabel(p.select);
      }
    }
  });

  document.addEventListener("click", function (event) {
    var option = event.target.closest && event.target.closest('.combobox-listbox [role="option"]');
    if (option) {
      var input = document.querySelector('[aria-controls="' + option.parentElement.id + '"]');
      choose(input, option);
      input.focus();
      return;
    }
    var remove = event.target.closest && event.target.closest(".combobox-remove");
    if (remove) {
      var chip = remove.closest("li");
      var select = chip.closest(".combobox").querySelector("select.combobox-value");
      var gone = select.querySelector('option[value="' + CSS.escape(chip.dataset.value) + '"]');
      if (gone) {
        gone.remove();
      }
      chip.remove();
    }
  });

  document.addEventListener("focusout", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-combobox]")) {
      return;
    }
    // Leave time for a click on an option to land before the list closes.
    setTimeout(function () {
      var p = parts(input);
      if (document.activeElement !== input) {
        open(input, false);
        if (!p.multiple && input.value !== chosenLabel(p.select)) {
          input.value = chosenLabel(p.select);
        }
      }
    }, 150);
  });

  // --- bulk-action bar (templates/includes/bulk_bar.html) -------------------------------------

  function bulkState(form) {
    var rows = form.querySelectorAll("[data-bulk-row]");
    var ticked = form.querySelectorAll("[data-bulk-row]:checked");
    var bar = form.querySelector("[data-bulk-bar]");
    var all = form.querySelector("[data-bulk-all]");
    var pageBox = form.querySelector("[data-bulk-page]");
    if (!bar) {
      return;
    }
    var allChosen = all && all.checked;
    bar.hidden = ticked.length === 0 && !allChosen;
    var offer = form.querySelector("[data-bulk-all-offer]");
    if (offer) {
      offer.hidden = ticked.length !== rows.length;
    }
    if (all && ticked.length !== rows.length) {
      all.checked = false;
      allChosen = false;
    }
    var count = form.querySelector("[data-bulk-count]");
    var expected = form.querySelector('[name="expected_count"]');
    count.textContent = allChosen && expected ? expected.value : String(ticked.length);
    if (pageBox) {
      pageBox.checked = rows.length > 0 && ticked.length === rows.length;
      pageBox.indeterminate = ticked.length > 0 && ticked.length < rows.length;
    }
  }

  function bulkFieldShown(form) {
    var field = form.querySelector("[data-bulk-field]");
    if (!field) {
      return;
    }
    form.querySelectorAll("[data-bulk-for]").forEach(function (part) {
      part.hidden = part.dataset.bulkFor !== field.value;
    });
  }

  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("[data-bulk-form]");
    if (!form) {
      return;
    }
    if (event.target.matches("[data-bulk-page]")) {
      form.querySelectorAll("[data-bulk-row]").forEach(function (box) {
        box.checked = event.target.checked;
      });
    }
    if (event.target.matches("[data-bulk-field]")) {
      bulkFieldShown(form);
    }
    bulkState(form);
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("[data-bulk-form]")) {
      return;
    }
    var all = form.querySelector("[data-bulk-all]");
    var button = form.querySelector("[data-confirm-all]");
    if (all && all.checked && button && !window.confirm(button.dataset.confirmAll)) {
      event.preventDefault();
    }
  });

  function start() {
    document.querySelectorAll("[data-bulk-form]").forEach(function (form) {
      bulkFieldShown(form);
      bulkState(form);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
