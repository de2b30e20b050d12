// Streamlit 1.67's st.date_input applies a typed date only when the focus leaves the whole field: Enter did
// nothing, Tab moved to the field's own calendar button (still inside), and the next click was spent applying
// the date. This moves the focus out of the field on Enter, and to the next control on Tab from the last part
// of the date (Tab between year, month and day is left alone), so a typed date applies on Enter, Tab and blur.
// Installed once per page by pages/common.py; tests/test_browser.py proves all three.
(() => {
  const doc = document;
  if (doc.documentElement.dataset.dateCommit === "1") return;
  doc.documentElement.dataset.dateCommit = "1";
  const FOCUSABLE = 'input, select, textarea, button, a[href], [tabindex]:not([tabindex="-1"]), [contenteditable="true"]';
  doc.addEventListener("keydown", (event) => {
    const isTab = event.key === "Tab" && !event.shiftKey;
    if (event.key !== "Enter" && !isTab) return;
    const target = event.target;
    if (!(target instanceof Element) || target.getAttribute("role") !== "spinbutton") return;
    const field = target.closest('[data-testid="stDateInputField"]');
    if (!field) return;
    const widget = field.closest('[data-testid="stDateInput"]') || field;
    if (isTab) {
      const segments = Array.from(field.querySelectorAll('[role="spinbutton"]'));
      if (segments[segments.length - 1] !== target) return;
      const next = Array.from(doc.querySelectorAll(FOCUSABLE)).find((element) =>
        !widget.contains(element) && !element.disabled && element.getClientRects().length > 0 &&
        (widget.compareDocumentPosition(element) & Node.DOCUMENT_POSITION_FOLLOWING));
      event.preventDefault();
      if (next) { next.focus(); return; }
    } else {
      event.preventDefault();
    }
    widget.tabIndex = -1;
    widget.focus({ preventScroll: true });
  }, true);
})();
