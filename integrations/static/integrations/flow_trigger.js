// The trigger editor on the admin's flow page: only the chosen kind's fields show, the
// schedule preview follows what is typed, and response headers are rows.
// Every field is a plain form field, so the page works (all fields shown) without this.
(function () {
  "use strict";
  const form = document.getElementById("flow_form");
  const kindSelect = form && form.querySelector("#id_trigger_type");
  if (!kindSelect) return;

  const field = (name) => form.querySelector("#id_" + name);
  const row = (name) => form.querySelector(".form-row.field-" + name);
  const section = (name) => form.querySelector("fieldset." + name);
  const show = (element, visible) => { if (element) element.hidden = !visible; };
  const value = (name) => { const input = field(name); return input ? input.value : ""; };

  function applyKind() {
    const option = kindSelect.selectedOptions[0];
    const kind = option ? option.dataset : {};
    const schedule = kind.schedule || "none";
    const description = form.querySelector("[data-kind-description]");
    if (description) description.textContent = kind.description || "This trigger type is not registered.";
    show(row("synchronous"), Boolean(kind.synchronous));
    show(row("sync_timeout_seconds"), Boolean(kind.synchronous));
    show(row("endpoint_security"), Boolean(kind.webhook));
    show(row("trigger_inputs"), Boolean(kind.inputs));
    form.querySelectorAll("[data-inputs-for]").forEach((group) => {
      group.hidden = group.dataset.inputsFor !== kindSelect.value;
    });
    show(section("tf-schedule"), schedule !== "none");
    show(section("tf-hmac"), Boolean(kind.hmac));
    show(section("tf-polling"), Boolean(kind.polling));
    show(section("tf-response"), Boolean(kind.webhook));
    show(row("singleton"), schedule !== "none");
    const shape = field("schedule_form");
    if (shape) {
      const never = shape.querySelector("option[value=none]");
      if (never) { never.disabled = schedule === "required"; never.hidden = schedule === "required"; }
      if (schedule === "required" && shape.value === "none") shape.value = "interval";
    }
    applySchedule();
  }

  function applySchedule() {
    const shape = value("schedule_form");
    show(row("schedule_every"), shape === "interval");
    show(row("schedule_unit"), shape === "interval");
    show(row("schedule_cron"), shape === "cron");
    show(row("schedule_time_zone"), shape === "cron");
    show(row("schedule_config_var"), shape === "configVar");
    show(row("schedule_preview"), shape !== "none");
    previewSoon();
  }

  function applyHmac() {
    const preset = field("hmac_preset");
    if (!preset) return;
    const generic = preset.value === "generic";
    ["hmac_header", "hmac_algorithm", "hmac_encoding", "hmac_prefix"].forEach((name) => show(row(name), generic));
    const timestamped = (preset.dataset.timestamped || "").split(" ");
    show(row("hmac_tolerance_seconds"), timestamped.includes(preset.value));
    show(row("hmac_secret"), value("hmac_secret_source") === "literal");
  }

  function applyQueue() {
    show(row("queue_concurrency_limit"), value("queue_type") === "throttled");
  }

  // On the add page the integration may change: offer only its config variables.
  function applyIntegration() {
    const integration = field("integration");
    if (!integration || !integration.selectedOptions[0]) return;
    const label = integration.value ? integration.selectedOptions[0].textContent.trim() : null;
    ["schedule_config_var", "hmac_secret_source"].forEach((name) => {
      const select = field(name);
      if (!select) return;
      select.querySelectorAll("optgroup").forEach((group) => {
        const mine = label === null || group.label === label;
        group.hidden = !mine;
        group.disabled = !mine;
      });
    });
    previewSoon();
  }

  // The live preview: the server computes it with the importer's own schedule code.
  const preview = form.querySelector("[data-schedule-preview]");
  let timer = null;
  let sent = 0;
  function previewSoon() {
    if (!preview) return;
    clearTimeout(timer);
    timer = setTimeout(previewNow, 200);
  }
  async function previewNow() {
    const shape = value("schedule_form");
    if (shape === "none") return;
    const query = new URLSearchParams({
      form: shape, every: value("schedule_every"), unit: value("schedule_unit"),
      cron: value("schedule_cron"), timeZone: value("schedule_time_zone"),
      configVar: value("schedule_config_var"), integration: value("integration"),
    });
    const mine = ++sent;
    let answer;
    try {
      const response = await fetch(preview.dataset.previewUrl + "?" + query, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return;
      answer = await response.json();
    } catch (error) {
      return;
    }
    if (mine !== sent) return; // a later keystroke's answer is on its way
    const description = preview.querySelector("[data-preview-description]");
    const runs = preview.querySelector("[data-preview-runs]");
    const note = preview.querySelector("[data-preview-note]");
    const problem = preview.querySelector("[data-preview-error]");
    description.textContent = answer.ok ? (answer.description || "No fire times") : "Fix the schedule to see when it runs.";
    note.textContent = answer.note || "";
    note.hidden = !answer.note;
    runs.replaceChildren(...(answer.nextRuns || []).map((run) => {
      const item = document.createElement("li");
      const time = document.createElement("time");
      time.dateTime = run.at;
      time.textContent = run.display;
      item.append(time);
      return item;
    }));
    problem.textContent = Object.values(answer.errors || {}).join(" ");
    problem.hidden = answer.ok;
    preview.dataset.state = answer.ok ? "ok" : "error";
  }

  // Response headers as rows: add one, remove one (the last is cleared, not removed).
  form.querySelectorAll("[data-header-rows]").forEach((rows) => {
    const list = rows.querySelector("[data-header-list]");
    rows.addEventListener("click", (event) => {
      const remove = event.target.closest("[data-header-remove]");
      if (remove) {
        const line = remove.closest("[data-header-row]");
        if (list.children.length > 1) line.remove();
        else line.querySelectorAll("input").forEach((input) => { input.value = ""; });
      } else if (event.target.closest("[data-header-add]")) {
        const line = list.lastElementChild.cloneNode(true);
        line.querySelectorAll("input").forEach((input) => { input.value = ""; });
        list.append(line);
        line.querySelector("input").focus();
      }
    });
  });

  kindSelect.addEventListener("change", applyKind);
  form.addEventListener("change", (event) => {
    const name = event.target.name || "";
    if (name === "schedule_form") applySchedule();
    else if (name.startsWith("schedule_")) previewSoon();
    else if (name.startsWith("hmac_")) applyHmac();
    else if (name === "queue_type") applyQueue();
    else if (name === "integration") applyIntegration();
  });
  form.addEventListener("input", (event) => {
    if ((event.target.name || "").startsWith("schedule_")) previewSoon();
  });
  applyIntegration();
  applyKind();
  applyHmac();
  applyQueue();
})();
