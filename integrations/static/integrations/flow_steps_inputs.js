/* One declared input of a step's action as a field (flow_steps.js builds the cards).
 *
 * inputField(declared, value, error) answers an element whose read() gives
 * {set: false} for an input left empty, or {set: true, value} as it is to be stored: a
 * string input's text; a number input's number, or its text when it is a {{ template }};
 * a boolean's true/false or template; a JSON box's parsed value, or its text. Any value the
 * natural widget cannot show exactly is shown in a JSON box instead, so nothing is lost.
 */
(function () {
  "use strict";

  const NUMBER = /^\s*-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;
  let uniqueId = 0;

  function element(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function describeDefault(value) {
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  /* ---- one input's field ------------------------------------------------------- */

  function kindOf(type, value) {
    const kind =
      type === "string" || type === "bytes"
        ? "text"
        : type === "number" || type === "integer"
          ? "number"
          : type === "boolean"
            ? "boolean"
            : "json";
    if (value === undefined) return kind;
    // A value the natural widget cannot show as it is stays exact in a JSON box.
    if (kind === "text" && typeof value !== "string") return "json";
    if (kind === "number" && typeof value !== "number" && typeof value !== "string") return "json";
    if (kind === "boolean" && typeof value !== "boolean" && typeof value !== "string") return "json";
    return kind;
  }

  function jsonText(value) {
    if (value === undefined) return "";
    if (typeof value === "string") {
      // Text that would read back as JSON (e.g. "12") is shown quoted, other text as is.
      try {
        JSON.parse(value);
        return JSON.stringify(value);
      } catch (error) {
        return value;
      }
    }
    return JSON.stringify(value, null, 2);
  }

  function inputField(declared, value, error) {
    const id = `tf-step-input-${++uniqueId}`;
    const kind = kindOf(declared.type, value);
    const label = element(
      "label",
      { for: id },
      element("span", { className: "tf-step-input-name", text: declared.name }),
      declared.required ? element("span", { className: "tf-step-required", text: "required" }) : null,
      element("span", { className: "tf-step-type", text: declared.type })
    );
    const placeholder =
      declared.default === null || declared.default === undefined
        ? declared.required
          ? "required"
          : "not set"
        : `default: ${describeDefault(declared.default)}`;
    const wrapper = element("div", { className: `tf-step-input tf-step-kind-${kind}`, "data-input": declared.name });
    let control;
    let template = null;
    if (kind === "boolean") {
      control = element(
        "select",
        { id },
        element("option", { value: "", text: `(not set${declared.default !== null && declared.default !== undefined ? `; default ${declared.default}` : ""})` }),
        element("option", { value: "true", text: "true" }),
        element("option", { value: "false", text: "false" }),
        element("option", { value: "template", text: "a {{ reference }}…" })
      );
      template = element("input", {
        type: "text",
        className: "tf-step-template",
        "aria-label": `${declared.name} as a reference`,
        placeholder: "{{ trigger.body.data.flag }}",
        spellcheck: "false",
      });
      if (typeof value === "boolean") control.value = String(value);
      else if (typeof value === "string") {
        control.value = "template";
        template.value = value;
      }
      template.hidden = control.value !== "template";
      control.addEventListener("change", () => {
        template.hidden = control.value !== "template";
        if (!template.hidden) template.focus();
      });
    } else if (kind === "json") {
      control = element("textarea", { id, rows: "3", spellcheck: "false", placeholder });
      control.value = jsonText(value);
    } else {
      control = element("input", {
        id,
        type: "text",
        spellcheck: "false",
        placeholder,
        inputmode: kind === "number" ? "decimal" : false,
      });
      control.value = value === undefined ? "" : String(value);
    }
    wrapper.append(label, control);
    if (template) wrapper.append(template);
    const hints = [declared.description];
    if (kind === "json" && declared.type !== "any") hints.push(`JSON ${declared.type}, or a {{ reference }}`);
    if (kind === "number") hints.push("a number, or a {{ reference }}");
    const hint = hints.filter(Boolean).join(" · ");
    if (hint) wrapper.append(element("p", { className: "tf-step-hint", text: hint }));
    const problem = element("p", { className: "tf-step-problem", "aria-live": "polite", hidden: true });
    wrapper.append(problem);
    if (error) {
      wrapper.classList.add("tf-step-has-error");
      wrapper.append(element("ul", { className: "errorlist" }, element("li", { text: error })));
    }
    wrapper.read = function () {
      problem.hidden = true;
      if (kind === "boolean") {
        if (control.value === "") return { set: false };
        if (control.value === "template") {
          return template.value === "" ? { set: false } : { set: true, value: template.value };
        }
        return { set: true, value: control.value === "true" };
      }
      const text = control.value;
      if (text.trim() === "") return { set: false };
      if (kind === "text") return { set: true, value: text };
      if (kind === "number") {
        if (NUMBER.test(text)) return { set: true, value: Number(text) };
        if (!text.includes("{{")) show(problem, "Not a number; it is kept as text.");
        return { set: true, value: text };
      }
      try {
        return { set: true, value: JSON.parse(text) };
      } catch (error) {
        if (declared.type !== "any" && !text.includes("{{")) {
          show(problem, "Not JSON; it is kept as text.");
        }
        return { set: true, value: text };
      }
    };
    return wrapper;
  }

  function show(node, text) {
    node.textContent = text;
    node.hidden = false;
  }

  window.tfStepInputs = { element, show, inputField };
})();
