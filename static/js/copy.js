// "Copy" buttons for text on a page, such as a new API token. A button starts hidden and
// is shown only where the Clipboard API is there to do the copying: without JavaScript
// the text stays plain, selectable text with no dead button beside it.
document.querySelectorAll("button[data-copy]").forEach((button) => {
  const source = document.getElementById(button.dataset.copy);
  const status = document.getElementById(button.dataset.copyStatus);
  if (!source || !status || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    status.textContent = "";
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
      status.textContent = "Copied";
    } catch {
      status.textContent = "Could not copy: select the text and copy it yourself.";
    }
  });
});
