/* 「印刷」ボタン: the print dialog of the browser (no inline script under the CSP). */
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () {
    window.print();
  });
});
