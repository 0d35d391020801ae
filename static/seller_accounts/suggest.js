// Live categorization on the seller's product form (seller_accounts/product_form.html).
// Without this script the page is a plain form. With it, the name's suggested
// taxonomy fills the empty fields; a field the seller typed is never overwritten,
// only offered an "Apply" button. Once a photo is chosen, the suggestion comes
// from the name and the photo together (one fused suggestion, its confidence per
// field), the photo's own article-type guesses are offered as chips, and where
// name and photo disagree with confidence the server's plain-words message is
// shown. Without a fused model the photo's guesses are a second opinion beside the
// name's suggestion. What was shown goes into the hidden #id_suggestions field, so
// a save can count which suggestions were kept.
(function () {
  "use strict";

  const form = document.getElementById("product-form");
  const box = document.getElementById("suggestions");
  if (!form || !box || !window.fetch) return;

  // The API's keys -> the form's field names.
  const FIELDS = {
    gender: "gender", masterCategory: "master_category", subCategory: "sub_category",
    articleType: "article_type", baseColour: "base_colour", season: "season", usage: "usage",
  };
  const DEBOUNCE_MS = 300;
  const MIN_NAME_CHARS = 3;

  const nameInput = form.querySelector("#id_name");
  const shownInput = form.querySelector("#id_suggestions");
  const photoInput = form.querySelector("#id_photo");
  const photoBox = document.getElementById("photo-opinion");
  const rowTemplate = document.getElementById("suggestion-row");
  const part = (role) => box.querySelector(`[data-role="${role}"]`);
  const token = form.querySelector("[name=csrfmiddlewaretoken]").value;
  const fieldInput = (field) => form.querySelector(`#id_${field}`);
  const labelOf = (field) => {
    const label = form.querySelector(`label[for="id_${field}"]`);
    return label ? label.firstChild.textContent.trim() : field;
  };
  const percent = (p) => `${Math.round(p * 100)}%`;

  let shown = null; // {model, version, suggestions} of the name currently shown
  let photoGuesses = []; // [{articleType, probability}] of the chosen photo
  let photoMessage = "";
  let conflicts = []; // the server's words where name and photo disagree with confidence
  let fusedAvailable = true; // false once the server answered a photo without a fused model
  let timer = null;
  let nameRequest = null;
  let photoRequest = null;

  // One request at a time per kind: starting one aborts the previous, and callers drop
  // any answer that is no longer the latest (`mine !== nameRequest`).
  function post(url, body, headers, previous) {
    if (previous) previous.controller.abort();
    const controller = new AbortController();
    const request = fetch(url, {
      method: "POST", body, signal: controller.signal, credentials: "same-origin",
      headers: { "X-CSRFToken": token, Accept: "application/json", ...headers },
    }).then(async (response) => {
      const data = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(data.error || "Suggestions are unavailable right now.");
      return data;
    }, () => {
      throw new Error("Suggestions are unavailable right now.");
    });
    return { controller, request };
  }

  function setNote(text) {
    const note = part("note");
    note.textContent = text;
    note.hidden = !text;
  }

  function announce(text) {
    part("status").textContent = text;
  }

  // Pre-filling --------------------------------------------------------------

  // Only a value this script wrote (data-autofilled) may be replaced without asking.
  function isFree(input) {
    return input.value.trim() === "" || input.dataset.autofilled === input.value;
  }

  function fill(input, value, byScript) {
    input.value = value;
    if (byScript) input.dataset.autofilled = value;
    else delete input.dataset.autofilled;
  }

  function prefill(suggestions) {
    const filled = [];
    for (const [key, field] of Object.entries(FIELDS)) {
      const input = fieldInput(field);
      const value = suggestions[key];
      if (input && value && isFree(input) && input.value !== value) {
        fill(input, value, true);
        filled.push(labelOf(field));
      }
    }
    return filled;
  }

  // Rendering ------------------------------------------------------------------

  function stateFor(field, value) {
    const input = fieldInput(field);
    const label = labelOf(field);
    if (input.value.trim() === value) {
      const state = document.createElement("span");
      state.className = input.dataset.autofilled === value ? "badge text-bg-light border" : "text-success";
      state.textContent = input.dataset.autofilled === value ? "Filled in" : "✓ Matches";
      return state;
    }
    const apply = document.createElement("button");
    apply.type = "button";
    apply.className = "btn btn-sm btn-outline-primary py-0";
    apply.textContent = "Apply";
    apply.setAttribute("aria-label", `Apply ${label}: ${value} (you typed ${input.value.trim() || "nothing"})`);
    apply.addEventListener("click", () => {
      fill(input, value, false);
      render();
      input.focus();
    });
    return apply;
  }

  function chip(articleType, probability, source) {
    const input = fieldInput("article_type");
    const button = document.createElement("button");
    button.type = "button";
    const selected = input.value.trim() === articleType;
    button.className = `btn btn-sm rounded-pill py-0 ${selected ? "btn-primary" : "btn-outline-secondary"}`;
    button.setAttribute("aria-pressed", String(selected));
    button.setAttribute("aria-label", `Use article type ${articleType} (${percent(probability)} from the ${source})`);
    button.textContent = `${articleType} ${percent(probability)}`;
    button.addEventListener("click", () => {
      fill(input, articleType, false);
      render(); // replaces this button, so focus goes where the value went
      input.focus();
    });
    return button;
  }

  function renderName() {
    const card = part("card");
    const list = part("fields");
    const chips = part("chips");
    list.replaceChildren();
    chips.replaceChildren();
    if (!shown) {
      card.hidden = true;
      return;
    }
    const { suggestions } = shown;
    part("title").textContent = shown.model === "fused"
      ? "Suggested from the name and the photo" : "Suggested from the name";
    for (const [key, field] of Object.entries(FIELDS)) {
      const value = suggestions[key];
      if (!value || !fieldInput(field)) continue;
      const row = rowTemplate.content.firstElementChild.cloneNode(true);
      const confidence = (suggestions.confidence || {})[key] || 0;
      const label = labelOf(field);
      row.querySelector('[data-role="label"]').textContent = label;
      row.querySelector('[data-role="value"]').textContent = value;
      const bar = row.querySelector('[role="progressbar"]');
      bar.setAttribute("aria-valuenow", String(Math.round(confidence * 100)));
      bar.setAttribute("aria-label", `Confidence for ${label}`);
      bar.firstElementChild.style.width = percent(confidence);
      row.querySelector('[data-role="percent"]').textContent = percent(confidence);
      row.querySelector('[data-role="state"]').replaceWith(stateFor(field, value));
      list.append(row);
    }
    for (const candidate of suggestions.candidates || []) {
      chips.append(chip(candidate.articleType, candidate.probability, "name"));
    }
    card.hidden = false;
  }

  function renderPhoto() {
    if (!photoBox) return;
    photoBox.replaceChildren();
    if (!photoGuesses.length) {
      photoBox.textContent = photoMessage;
      return;
    }
    const title = document.createElement("p");
    title.className = "small fw-semibold mb-1";
    title.textContent = "Second opinion from the photo";
    const chips = document.createElement("div");
    chips.className = "d-flex flex-wrap gap-1 small";
    chips.setAttribute("role", "group");
    chips.setAttribute("aria-label", "Article types guessed from the photo");
    for (const guess of photoGuesses) chips.append(chip(guess.articleType, guess.probability, "photo"));
    photoBox.append(title, chips);
    for (const conflict of conflicts) {
      const warning = document.createElement("p");
      warning.className = "alert alert-warning small py-1 px-2 mt-2 mb-0";
      warning.textContent = conflict;
      photoBox.append(warning);
    }
  }

  function photoChosen() {
    return photoInput && photoInput.files && photoInput.files[0];
  }

  function render() {
    renderName();
    renderPhoto();
  }

  // What the hidden field tells the server: only the values that were shown.
  function remember() {
    if (!shown) {
      shownInput.value = "";
      return;
    }
    const fields = {};
    for (const [key, field] of Object.entries(FIELDS)) {
      if (shown.suggestions[key] && fieldInput(field)) fields[field] = shown.suggestions[key];
    }
    shownInput.value = JSON.stringify({ model: shown.model, version: shown.version || "", fields });
  }

  // Requests -----------------------------------------------------------------

  async function suggest() {
    const name = nameInput.value.trim();
    if (name.length < MIN_NAME_CHARS) {
      if (nameRequest) nameRequest.controller.abort();
      nameRequest = null;
      shown = null;
      setNote("");
      remember();
      render();
      return;
    }
    const mine = post(form.dataset.categorizeUrl, JSON.stringify({ name }),
      { "Content-Type": "application/json" }, nameRequest);
    nameRequest = mine;
    let data;
    try {
      data = await mine.request;
    } catch (error) {
      if (mine !== nameRequest) return; // a newer name is on its way
      shown = null;
      setNote(error.message);
      announce(error.message);
      remember();
      render();
      return;
    }
    if (mine !== nameRequest) return;
    if (!data.available) {
      shown = null;
      const message = "No suggestions: the categorizer is not trained yet. Fill in the category yourself.";
      setNote(message);
      announce(message);
    } else {
      shown = { model: data.model, version: data.version, suggestions: data.suggestions };
      setNote("");
      const filled = prefill(data.suggestions);
      const s = data.suggestions;
      announce(`Suggested: ${[s.gender, s.subCategory, s.articleType].filter(Boolean).join(", ")}.`
        + (filled.length ? ` Filled in ${filled.join(", ")}.` : ""));
    }
    remember();
    render();
  }

  // The photo, with the name typed so far: one fused suggestion when the server has
  // the fused model, else the photo's article types as a second opinion.
  async function withPhoto() {
    const file = photoChosen();
    conflicts = [];
    if (!file) {
      if (photoRequest) photoRequest.controller.abort();
      photoRequest = null;
      photoGuesses = [];
      photoMessage = "";
      fusedAvailable = true;
      suggest(); // back to the name alone
      return;
    }
    photoMessage = "Looking at the photo…";
    renderPhoto();
    const body = new FormData();
    body.append("photo", file);
    body.append("name", nameInput.value.trim());
    const mine = post(form.dataset.photoUrl, body, {}, photoRequest);
    photoRequest = mine;
    let data;
    try {
      data = await mine.request;
    } catch (error) {
      if (mine !== photoRequest) return;
      photoGuesses = [];
      photoMessage = error.message;
      renderPhoto();
      announce(error.message);
      return;
    }
    if (mine !== photoRequest) return;
    photoGuesses = data.article_types || [];
    photoMessage = data.available ? "" : "No image model is trained, so there is no second opinion.";
    const fused = data.suggestions && data.suggestions.articleType;
    fusedAvailable = Boolean(fused);
    let filled = [];
    if (fused) {
      conflicts = (data.disagreements || []).map((d) => d.message);
      shown = { model: data.model, version: data.version, suggestions: data.suggestions };
      setNote("");
      filled = prefill(data.suggestions);
      remember();
    }
    render();
    const s = data.suggestions || {};
    const guesses = photoGuesses.map((g) => `${g.articleType} ${percent(g.probability)}`).join(", ");
    announce((fused ? `Suggested from the name and the photo: ${[s.gender, s.subCategory, s.articleType].filter(Boolean).join(", ")}.`
      + (filled.length ? ` Filled in ${filled.join(", ")}.` : "") : "")
      + (guesses ? ` From the photo: ${guesses}.` : ` ${photoMessage}`)
      + (conflicts.length ? ` ${conflicts.join(" ")}` : ""));
    if (!fused && nameInput.value.trim().length >= MIN_NAME_CHARS) suggest();
  }

  nameInput.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(photoChosen() && fusedAvailable ? withPhoto : suggest, DEBOUNCE_MS);
  });
  for (const field of Object.values(FIELDS)) {
    const input = fieldInput(field);
    if (!input) continue;
    input.addEventListener("input", () => {
      // Typed by the seller: from now on it is theirs.
      delete input.dataset.autofilled;
      render();
    });
  }
  if (photoInput) photoInput.addEventListener("change", withPhoto);

  // A form sent back with errors keeps its hidden suggestions: show them again.
  if (shownInput.value && nameInput.value.trim()) suggest();
})();
