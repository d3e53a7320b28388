// Email templates (POR-6): "Insert" puts the chosen merge field, as {name}, where the cursor
// is in the body, then tells the form it changed so the live preview (htmx) follows.
"use strict";

(function () {
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-insert-merge-field]");
    if (!button) {
      return;
    }
    var field = document.getElementById(button.dataset.insertMergeField);
    var select = document.getElementById(button.dataset.mergeSelect);
    if (!field || !select || !select.value) {
      return;
    }
    var text = "{" + select.value + "}";
    var start = field.selectionStart == null ? field.value.length : field.selectionStart;
    var end = field.selectionEnd == null ? start : field.selectionEnd;
    field.value = field.value.slice(0, start) + text + field.value.slice(end);
    field.focus();
    field.setSelectionRange(start + text.length, start + text.length);
    field.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
