/* The flow page's step editor (integrations/editor/step_form.py).
 *
 * The server renders each step with an action <select> and its inputs as one JSON
 * textarea, which stays what is posted: this script only reads it into one field per
 * input the chosen action declares (from the catalog in #tf-step-actions) and writes the
 * object back on every change. Inputs the action does not declare are kept under "Other
 * inputs". It also moves steps up and down (renumbering their positions in page order)
 * and offers, per step, the references that step may use (#tf-step-references plus the
 * steps above it), inserting the one chosen into the input last focused. One input's
 * field is built by flow_steps_inputs.js, loaded before this script.
 */
(function () {
  "use strict";

  function readJson(id, fallback) {
    const element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : fallback;
  }

  const ACTIONS = readJson("tf-step-actions", {});
  const REFERENCES = readJson("tf-step-references", { trigger: [], configVars: [], run: [] });
  const states = new Map();
  const { element, show, inputField } = window.tfStepInputs;

  function group() {
    return document.getElementById("steps-group");
  }

  function cards() {
    const root = group();
    if (!root) return [];
    return Array.from(root.querySelectorAll(".tf-step[data-step-card]")).filter(
      (card) => !card.classList.contains("empty-form")
    );
  }

  function field(card, name) {
    return card.querySelector(`[name$="-${name}"]`);
  }

  function isDeleted(card) {
    const box = field(card, "DELETE");
    return Boolean(box && box.checked);
  }

  function isPlainObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function quoted(name) {
    return `'${name.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  }

  /* ---- a step card ------------------------------------------------------------- */

  function storedInputs(state) {
    const text = state.textarea.value.trim();
    // A new step's box starts empty or "null": no inputs yet.
    if (text === "" || text === "null") return {};
    try {
      return JSON.parse(text);
    } catch (error) {
      return undefined;
    }
  }

  function renderFields(state, value) {
    const spec = ACTIONS[state.select.value];
    const declared = spec ? spec.inputs : [];
    const names = new Set(declared.map((input) => input.name));
    state.fields.replaceChildren();
    state.inputFields = declared.map((input) => inputField(input, value[input.name], state.errors[input.name]));
    state.fields.append(...state.inputFields);
    if (!declared.length) {
      state.fields.append(
        element("p", {
          className: "tf-step-hint",
          text: spec ? "This action declares no inputs." : "Choose an action to see its inputs.",
        })
      );
    }
    const others = {};
    for (const [key, item] of Object.entries(value)) if (!names.has(key)) others[key] = item;
    const count = Object.keys(others).length;
    state.other.value = count ? JSON.stringify(others, null, 2) : "";
    state.otherDetails.open = count > 0;
    state.otherSummary.textContent = count
      ? `Other inputs (${count}, not declared by this action)`
      : "Other inputs (JSON)";
    const otherErrors = Object.keys(state.errors).filter((key) => !names.has(key));
    state.otherErrors.replaceChildren(
      ...otherErrors.map((key) => element("li", { text: `${key}: ${state.errors[key]}` }))
    );
    state.otherErrors.hidden = !otherErrors.length;
  }

  function describeAction(state) {
    const key = state.select.value;
    const spec = ACTIONS[key];
    const text = !key
      ? "Choose the action this step runs."
      : spec
        ? spec.description || key
        : `${key} is not a registered action; choose one to save this step.`;
    state.description.textContent = text;
    state.description.classList.toggle("tf-step-unregistered", Boolean(key && !spec));
  }

  function writeBack(state) {
    const result = {};
    for (const wrapper of state.inputFields) {
      const read = wrapper.read();
      if (read.set) result[wrapper.dataset.input] = read.value;
    }
    state.otherProblem.hidden = true;
    state.otherInvalid = false;
    const text = state.other.value.trim();
    if (text) {
      let others;
      try {
        others = JSON.parse(text);
      } catch (error) {
        others = undefined;
      }
      if (!isPlainObject(others)) {
        state.otherInvalid = true;
        show(state.otherProblem, 'Write other inputs as a JSON object, e.g. {"name": "value"}.');
        return;
      }
      for (const [key, item] of Object.entries(others)) if (!(key in result)) result[key] = item;
    }
    state.textarea.value = JSON.stringify(result, null, 2);
  }

  function referenceHelper(state) {
    const status = element("p", { className: "tf-step-refs-status", "aria-live": "polite" });
    const earlier = element("ul", { className: "tf-step-refs-list" });
    const details = element(
      "details",
      { className: "tf-step-refs" },
      element("summary", { text: "Insert a reference" }),
      element("p", {
        className: "tf-step-hint",
        text: "Inserts {{ … }} into the input you last clicked; with none, copies it.",
      }),
      element("h5", { text: "Steps above this one" }),
      earlier
    );
    const groups = [
      ["Config variables", REFERENCES.configVars],
      ["Trigger", REFERENCES.trigger],
      ["This run", REFERENCES.run],
    ];
    for (const [title, entries] of groups) {
      if (!entries.length) continue;
      details.append(
        element("h5", { text: title }),
        element("ul", { className: "tf-step-refs-list" }, ...entries.map(referenceButton))
      );
    }
    details.append(status);
    details.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-expression]");
      if (button) insertReference(state, button.dataset.expression);
    });
    state.refsStatus = status;
    state.earlierSteps = earlier;
    return details;
  }

  function referenceButton(entry) {
    return element(
      "li",
      {},
      element(
        "button",
        { type: "button", className: "tf-step-ref", "data-expression": entry.expression },
        element("code", { text: entry.expression }),
        entry.description ? element("span", { text: entry.description }) : null
      )
    );
  }

  function insertReference(state, expression) {
    const text = `{{ ${expression} }}`;
    const target = state.lastFocused;
    if (target && target.isConnected && !target.hidden) {
      const start = target.selectionStart ?? target.value.length;
      const end = target.selectionEnd ?? start;
      target.value = target.value.slice(0, start) + text + target.value.slice(end);
      // The caret lands inside the braces, so a path can be typed on: steps['Fetch'].data
      const caret = start + text.length - 3;
      target.focus();
      target.setSelectionRange(caret, caret);
      target.dispatchEvent(new Event("input", { bubbles: true }));
      const name = target.closest("[data-input]");
      state.refsStatus.textContent = `Inserted ${text} into ${name ? name.dataset.input : "the inputs"}.`;
      return;
    }
    const copied = navigator.clipboard ? navigator.clipboard.writeText(text) : Promise.reject();
    copied.then(
      () => (state.refsStatus.textContent = `Copied ${text}; click an input to insert instead.`),
      () => (state.refsStatus.textContent = `Click an input first, then the reference: ${text}`)
    );
  }

  function enhance(card) {
    if (states.has(card)) return;
    const select = field(card, "action");
    const textarea = field(card, "inputs");
    if (!select || !textarea) return;
    const state = {
      card,
      select,
      textarea,
      errors: JSON.parse(card.dataset.inputErrors || "{}"),
      inputFields: [],
      lastFocused: null,
      otherInvalid: false,
    };
    states.set(card, state);

    const positionRow = card.querySelector(".form-row.field-position");
    if (positionRow) positionRow.hidden = true;
    const move = card.querySelector(".tf-step-move");
    if (move) move.hidden = false;

    const actionRow = card.querySelector(".form-row.field-action");
    const actionHelp = actionRow && actionRow.querySelector(".help");
    state.description = element("p", { className: "tf-step-action-description", "aria-live": "polite" });
    if (actionHelp) actionHelp.replaceChildren(state.description);
    else select.after(state.description);
    describeAction(state);

    const inputsRow = card.querySelector(".form-row.field-inputs");
    const value = storedInputs(state);
    const editor = element("div", { className: "tf-step-editor" });
    if (isPlainObject(value)) {
      // The JSON box stays in the form, hidden: it is what is posted.
      inputsRow.classList.add("tf-step-enhanced");
      state.fields = element("div", { className: "tf-step-inputs" });
      state.other = element("textarea", { rows: "3", spellcheck: "false", "aria-label": "Other inputs as JSON", placeholder: '{"name": "value"}' });
      state.otherSummary = element("summary");
      state.otherProblem = element("p", { className: "tf-step-problem", hidden: true });
      state.otherErrors = element("ul", { className: "errorlist", hidden: true });
      state.otherDetails = element(
        "details",
        { className: "tf-step-other" },
        state.otherSummary,
        state.otherErrors,
        state.other,
        state.otherProblem
      );
      editor.append(state.fields, state.otherDetails);
      renderFields(state, value);
      editor.addEventListener("input", () => writeBack(state));
      editor.addEventListener("change", () => writeBack(state));
      select.addEventListener("change", () => {
        const current = storedInputs(state);
        describeAction(state);
        renderFields(state, isPlainObject(current) ? current : {});
        writeBack(state);
      });
    } else {
      // Not an object (or not JSON): the box is shown as it is, with its error.
      select.addEventListener("change", () => describeAction(state));
    }
    editor.append(referenceHelper(state));
    (inputsRow || card).append(editor);

    card.addEventListener("focusin", (event) => {
      const target = event.target;
      const typed = target.matches("textarea, input[type=text]");
      if (typed && (editor.contains(target) || target === textarea)) state.lastFocused = target;
    });
    const name = field(card, "name");
    if (name) name.addEventListener("input", refreshAll);
    const box = field(card, "DELETE");
    if (box) box.addEventListener("change", refreshAll);
    if (move) move.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-move]");
      if (button) moveCard(card, button.dataset.move, button);
    });
  }

  /* ---- order ------------------------------------------------------------------- */

  function moveCard(card, direction, button) {
    const list = cards();
    const index = list.indexOf(card);
    const other = list[direction === "up" ? index - 1 : index + 1];
    if (!other) return;
    if (direction === "up") other.before(card);
    else other.after(card);
    refreshAll();
    // At the top or bottom the button pressed is disabled now; keep focus in the card.
    (button.disabled ? card.querySelector("button[data-move]:not(:disabled)") : button)?.focus();
    const position = cards().indexOf(card) + 1;
    const status = document.getElementById("tf-steps-status");
    if (status) status.textContent = `Moved ${stepName(card) || "the step"} to position ${position}.`;
  }

  function stepName(card) {
    const name = field(card, "name");
    return name ? name.value.trim() : "";
  }

  function refreshAll() {
    const list = cards();
    const before = [];
    list.forEach((card, index) => {
      const position = field(card, "position");
      if (position) position.value = String(index);
      const number = card.querySelector(".tf-step-number");
      if (number) number.textContent = `${index + 1}`;
      const label = card.querySelector(".inline_label");
      if (label && stepName(card)) label.textContent = stepName(card);
      card.classList.toggle("tf-step-deleted", isDeleted(card));
      for (const button of card.querySelectorAll("button[data-move]")) {
        button.disabled = button.dataset.move === "up" ? index === 0 : index === list.length - 1;
      }
      const state = states.get(card);
      if (state && state.earlierSteps) {
        state.earlierSteps.replaceChildren(
          ...(before.length
            ? before.map(referenceButton)
            : [element("li", { className: "tf-step-hint", text: "None: this is the first step." })])
        );
      }
      const name = stepName(card);
      if (name && !isDeleted(card)) {
        const action = field(card, "action");
        before.push({
          expression: `steps[${quoted(name)}]`,
          description: action && action.value ? `the result of ${action.value}` : "its result",
        });
      }
    });
  }

  function init() {
    const root = group();
    if (!root) return;
    root.prepend(element("p", { id: "tf-steps-status", className: "tf-step-sr", "aria-live": "polite" }));
    cards().forEach(enhance);
    refreshAll();
    document.addEventListener("formset:added", (event) => {
      if (event.detail && event.detail.formsetName !== "steps") return;
      enhance(event.target);
      refreshAll();
    });
    document.addEventListener("formset:removed", refreshAll);
    const form = root.closest("form");
    if (form) {
      form.addEventListener("submit", (event) => {
        for (const state of states.values()) {
          if (state.otherInvalid && state.card.isConnected && !isDeleted(state.card)) {
            event.preventDefault();
            state.otherDetails.open = true;
            state.other.focus();
            return;
          }
        }
      });
    }
  }

  init();
})();
