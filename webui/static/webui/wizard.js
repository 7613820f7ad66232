// The config wizard's behaviour. Plain JavaScript, no build step, no dependencies.
// Every page works without it (all steps shown at once, previews as of page load);
// this file adds steps, live schedule previews, JSON checks, copy and reveal buttons,
// and a history that refreshes itself.
(function () {
  "use strict";

  function announce(text) {
    var region = document.getElementById("announcer");
    if (!region) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 30);
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function debounce(fn, wait) {
    var timer = null;
    return function () {
      var args = arguments;
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { fn.apply(null, args); }, wait);
    };
  }

  // Steps ---------------------------------------------------------------------------
  function setUpSteps(form) {
    var sections = Array.prototype.slice.call(form.querySelectorAll("[data-step]"));
    var stepper = document.querySelector("[data-stepper]");
    if (!sections.length || !stepper) return;
    stepper.hidden = false;
    form.classList.add("is-stepped");
    form.querySelectorAll("[data-step-next]").forEach(function (b) { b.hidden = false; });
    var keys = sections.map(function (s) { return s.getAttribute("data-step"); });
    var current = 0;

    function show(index, focus) {
      current = Math.max(0, Math.min(index, sections.length - 1));
      sections.forEach(function (section, i) { section.hidden = i !== current; });
      stepper.querySelectorAll("[data-step-target]").forEach(function (button, i) {
        if (i === current) button.setAttribute("aria-current", "step");
        else button.removeAttribute("aria-current");
        button.classList.toggle("is-done", i < current);
      });
      if (keys[current] === "review") updateReview(form);
      if (focus) sections[current].querySelector("h2").focus();
    }

    stepper.addEventListener("click", function (event) {
      var button = event.target.closest("[data-step-target]");
      if (button) show(keys.indexOf(button.getAttribute("data-step-target")), true);
    });
    form.addEventListener("click", function (event) {
      if (event.target.closest("[data-step-next]")) show(current + 1, true);
      if (event.target.closest("[data-step-back]")) show(current - 1, true);
    });
    var firstError = form.getAttribute("data-first-error");
    var start = firstError ? keys.indexOf(firstError) : 0;
    show(start < 0 ? 0 : start, Boolean(firstError));
    if (firstError) {
      var invalid = sections[current].querySelector(".has-error input, .has-error select, .has-error textarea");
      if (invalid) invalid.focus();
    }
  }

  function updateReview(form) {
    form.querySelectorAll("[data-review-for]").forEach(function (cell) {
      var prefix = cell.getAttribute("data-review-for");
      var schedule = form.querySelector('[data-schedule="' + prefix + '"]');
      if (schedule) {
        var description = schedule.querySelector("[data-preview-description]");
        cell.textContent = description ? description.textContent : "—";
        return;
      }
      var input = form.querySelector('[name="' + prefix + '_value"]');
      if (!input) return;
      if (input.type === "password") {
        if (input.value) cell.textContent = "new value (hidden)";
        return;
      }
      if (input.type === "checkbox") { cell.textContent = input.checked ? "Yes" : "No"; return; }
      cell.textContent = input.value === "" ? "—" : input.value;
    });
    var name = form.querySelector('[name="name"]');
    var nameCell = form.querySelector("[data-review] dd");
    if (name && nameCell) nameCell.textContent = name.value;
  }

  // Schedule picker -----------------------------------------------------------------
  var UNIT = { minute: "minutes", hour: "hours", day: "days" };

  function setUpSchedule(fieldset, previewUrl) {
    function part(name) { return fieldset.querySelector('[data-schedule-part="' + name + '"]'); }
    var preview = fieldset.querySelector("[data-preview]");
    var description = preview.querySelector("[data-preview-description]");
    var runs = preview.querySelector("[data-preview-runs]");
    var error = preview.querySelector("[data-preview-error]");
    var sequence = 0;

    function layout() {
      var type = part("type").value;
      fieldset.querySelectorAll("[data-show-for]").forEach(function (wrapper) {
        wrapper.hidden = wrapper.getAttribute("data-show-for").split(" ").indexOf(type) < 0;
      });
      var everyLabel = fieldset.querySelector(".field-every label");
      if (everyLabel && UNIT[type]) everyLabel.textContent = "Every (" + UNIT[type] + ")";
    }

    function render(data) {
      fieldset.querySelectorAll(".live-error").forEach(function (node) { node.remove(); });
      runs.textContent = "";
      if (!data.ok) {
        description.textContent = "Fix the schedule to see when it runs.";
        var messages = [];
        Object.keys(data.errors).forEach(function (name) {
          messages.push(data.errors[name]);
          var input = part(name);
          if (input) {
            input.setAttribute("aria-invalid", "true");
            var note = document.createElement("p");
            note.className = "field-error live-error";
            note.id = input.id + "_liveerror";
            note.textContent = data.errors[name];
            input.insertAdjacentElement("afterend", note);
            input.setAttribute("aria-describedby", note.id);
          }
        });
        error.textContent = messages.join(" ");
        error.hidden = false;
        return;
      }
      fieldset.querySelectorAll("[aria-invalid]").forEach(function (input) {
        input.removeAttribute("aria-invalid");
      });
      error.hidden = true;
      description.textContent = data.description;
      data.nextRuns.forEach(function (run) {
        var item = document.createElement("li");
        var time = document.createElement("time");
        time.dateTime = run.at;
        time.textContent = run.display;
        item.appendChild(time);
        runs.appendChild(item);
      });
    }

    var refresh = debounce(function () {
      var params = new URLSearchParams();
      ["type", "every", "minute", "time", "weekday", "cron", "zone"].forEach(function (name) {
        var input = part(name);
        if (input) params.set(name, input.value);
      });
      var mine = ++sequence;
      preview.setAttribute("aria-busy", "true");
      fetch(previewUrl + "?" + params.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (data) { if (mine === sequence) render(data); })
        .catch(function () { if (mine === sequence) description.textContent = "The preview is not available right now."; })
        .finally(function () { if (mine === sequence) preview.removeAttribute("aria-busy"); });
    }, 250);

    fieldset.addEventListener("input", refresh);
    fieldset.addEventListener("change", function () { layout(); refresh(); });
    layout();
  }

  // JSON editors ---------------------------------------------------------------------
  function setUpJson(textarea) {
    var status = document.getElementById(textarea.id + "_jsonstatus");
    function check() {
      if (!status) return;
      var text = textarea.value.trim();
      if (!text) { status.textContent = ""; textarea.removeAttribute("aria-invalid"); return; }
      try {
        JSON.parse(text);
        status.textContent = "Valid JSON";
        status.className = "json-status is-ok";
        textarea.removeAttribute("aria-invalid");
      } catch (error) {
        status.textContent = "Not valid JSON: " + error.message;
        status.className = "json-status is-error";
        textarea.setAttribute("aria-invalid", "true");
      }
    }
    textarea.addEventListener("input", debounce(check, 200));
    textarea.addEventListener("blur", check);
  }

  // Keys and copying -----------------------------------------------------------------
  function reveal(button) {
    var flow = button.closest("[data-flow]");
    if (button.getAttribute("aria-expanded") === "true") return Promise.resolve();
    var body = new URLSearchParams({ flow: button.getAttribute("data-reveal") });
    return fetch(button.getAttribute("data-reveal-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: body,
    })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        flow.querySelectorAll("[data-key]").forEach(function (node, i) {
          if (data.keys[i]) node.textContent = data.keys[i];
        });
        var curl = flow.querySelector("[data-curl]");
        if (curl && data.curl) curl.value = data.curl;
        button.setAttribute("aria-expanded", "true");
        button.textContent = "Keys shown";
        button.disabled = true;
        announce("API keys shown");
      });
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var scratch = document.createElement("textarea");
    scratch.value = text;
    scratch.setAttribute("readonly", "");
    scratch.style.position = "fixed";
    scratch.style.opacity = "0";
    document.body.appendChild(scratch);
    scratch.select();
    try { document.execCommand("copy"); } finally { scratch.remove(); }
    return Promise.resolve();
  }

  function setUpCopy(button) {
    button.addEventListener("click", function () {
      var target = document.querySelector(button.getAttribute("data-copy"));
      var before = button.getAttribute("data-reveal-first")
        ? reveal(button.closest("[data-flow]").querySelector("[data-reveal]"))
        : Promise.resolve();
      before
        .then(function () { return copyText(target.value); })
        .then(function () {
          var label = button.firstChild;
          label.textContent = "Copied";
          button.classList.add("is-copied");
          announce("Copied to the clipboard");
          window.setTimeout(function () { label.textContent = "Copy"; button.classList.remove("is-copied"); }, 2000);
        })
        .catch(function () {
          target.focus();
          target.select();
          announce("Copy failed; the text is selected, press Ctrl+C");
        });
    });
  }

  // History --------------------------------------------------------------------------
  function setUpHistory(container) {
    var url = container.getAttribute("data-history-url");
    var rounds = 0;
    function poll() {
      if (rounds++ > 600) return; // stop after ~20 minutes of an idle open tab
      if (document.visibilityState === "visible") {
        fetch(url, { credentials: "same-origin" })
          .then(function (response) { return response.ok ? response.text() : null; })
          .then(function (html) {
            if (html !== null && html.trim() !== container.innerHTML.trim()) container.innerHTML = html;
          })
          .catch(function () {});
      }
      window.setTimeout(poll, 2000);
    }
    window.setTimeout(poll, 2000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("[data-wizard]");
    if (form) {
      setUpSteps(form);
      var previewUrl = form.getAttribute("data-preview-url");
      form.querySelectorAll("[data-schedule]").forEach(function (fs) { setUpSchedule(fs, previewUrl); });
      form.querySelectorAll("[data-json-editor]").forEach(setUpJson);
    }
    document.querySelectorAll("[data-reveal]").forEach(function (button) {
      button.addEventListener("click", function () {
        reveal(button).catch(function () { announce("The keys could not be loaded"); });
      });
    });
    document.querySelectorAll("[data-copy]").forEach(setUpCopy);
    // Only the first page refreshes itself: an older page stays as the user is reading it.
    document.querySelectorAll("[data-history][data-history-url]").forEach(setUpHistory);
  });
})();
