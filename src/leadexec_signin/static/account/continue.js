// After a form of ours signs someone in, go on to where they were headed. A navigation of its
// own, not the form's redirect: browsers hold a form post's redirects to the posting page's
// form-action, and the authorization endpoint's answer leaves for the application's site.
location.replace(document.getElementById("continue").href);
