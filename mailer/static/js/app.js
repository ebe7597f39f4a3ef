// Small progressive enhancements; every page also works without JavaScript.
document.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr.status;
  if (status === 422) return; // validation errors are swapped in like any fragment
  alert(status === 403 ? "You are not allowed to do that." : "Something went wrong (" + status + ").");
});
// Let htmx swap 422 responses (forms re-rendered with their errors).
document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.xhr.status === 422) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
