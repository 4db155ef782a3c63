// The end of FedCM's login_url: the user signed in to LeadExec, the browser's dialog goes on.
(function () {
  "use strict";
  if (window.IdentityProvider && IdentityProvider.close) IdentityProvider.close();
  else location.replace("/account/apps");
})();
