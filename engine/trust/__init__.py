"""Host keys, trusted/pending peers, TLS contexts and the wire protocol."""
