// The search box's suggestions (htmx fills #search-suggestions as the shopper types):
// ArrowDown/ArrowUp move between the box and the suggestions, Enter follows one,
// Escape closes the list and returns to the box.
(function () {
  const box = document.getElementById("nav-search");
  const panel = document.getElementById("search-suggestions");
  if (!box || !panel) return;

  const options = () => Array.from(panel.querySelectorAll('[role="option"]'));
  const setOpen = (open) => box.setAttribute("aria-expanded", open ? "true" : "false");
  const close = () => { panel.replaceChildren(); setOpen(false); };

  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target === panel) setOpen(options().length > 0);
  });

  box.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && options().length) {
      event.preventDefault();
      options()[0].focus();
    } else if (event.key === "Escape") {
      close();
    }
  });

  panel.addEventListener("keydown", (event) => {
    const all = options();
    const index = all.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && index < all.length - 1) {
      event.preventDefault();
      all[index + 1].focus();
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      (index > 0 ? all[index - 1] : box).focus();
    } else if (event.key === "Escape") {
      close();
      box.focus();
    }
  });

  document.addEventListener("click", (event) => {
    if (!panel.contains(event.target) && event.target !== box) close();
  });
})();
