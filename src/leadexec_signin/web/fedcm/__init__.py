"""The identity provider's side of FedCM (W3C Federated Credential Management)."""
