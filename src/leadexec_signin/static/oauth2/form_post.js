// OAuth 2.0 Form Post Response Mode: send the answer to the client as soon as the page loads.
// A file of our own origin, since the pages' CSP allows no inline script.
document.getElementById("form-post").submit();
