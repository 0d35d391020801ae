// Asks before a destructive submit: <button data-confirm="Cancel this line?">.
// A file rather than onclick="", so the Content-Security-Policy can refuse inline scripts.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-confirm]");
  if (button && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
  }
});
