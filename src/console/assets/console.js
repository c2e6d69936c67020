// dci-server operator console: the only script of its own (the CSP allows no inline script).
// Forms marked data-confirm ask in a dialog first; "shown once" dialogs open modal; copy buttons copy.
let pending = null;

function confirmDialog() {
  return document.getElementById("confirm-dialog");
}

function askFirst(event) {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.confirm || form.dataset.confirmed === "1") return;
  const dialog = confirmDialog();
  event.preventDefault();
  pending = { form, submitter: event.submitter };
  dialog.querySelector("[data-confirm-text]").textContent = form.dataset.confirm;
  dialog.showModal();
}

function onClick(event) {
  const target = event.target;
  if (!(target instanceof Element)) return;
  if (target.matches("[data-confirm-yes]") && pending) {
    const { form, submitter } = pending;
    pending = null;
    confirmDialog().close();
    form.dataset.confirmed = "1";
    form.requestSubmit(submitter ?? undefined);
  } else if (target.matches("[data-confirm-no]")) {
    pending = null;
    confirmDialog().close();
  } else if (target.matches("[data-copy]")) {
    const source = document.getElementById(target.getAttribute("data-copy"));
    if (source && navigator.clipboard) navigator.clipboard.writeText(source.textContent ?? "");
  } else if (target.matches("[data-close]")) {
    target.closest("dialog")?.close();
  }
}

function openModals() {
  for (const dialog of document.querySelectorAll("dialog[data-modal]")) {
    if (dialog.open) dialog.close();
    dialog.showModal();
  }
}

document.addEventListener("submit", askFirst);
document.addEventListener("click", onClick);
document.addEventListener("DOMContentLoaded", openModals);
