// The counter's sale form: remove a line, clear the scan box after a line is added (and drop
// the empty starting line), keep the scan box focused for the next barcode.
"use strict";

document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-remove-line]");
  if (!button) return;
  const lines = button.closest(".cart-lines");
  button.closest("[data-line]").remove();
  if (lines && !lines.querySelector("[data-line]")) {
    document.getElementById("scan-input")?.focus();
  }
});

function blank(line) {
  return ["sku", "name", "price"].every((name) => !line.querySelector(`input[name=${name}]`).value.trim());
}

document.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target.id !== "cart-lines") return;
  const lines = [...event.detail.target.querySelectorAll("[data-line]")];
  const added = lines[lines.length - 1];
  lines.slice(0, -1).filter(blank).forEach((line) => line.remove());
  const scan = document.getElementById("scan-input");
  if (scan) scan.value = "";
  const price = added?.querySelector("input[name=price]");
  (price && !price.value ? price : scan)?.focus();
});
