"""LeadExec Sign-In: a "Sign in with LeadExec" identity provider."""

__version__ = "0.1.0"
