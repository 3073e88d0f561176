"""The safeguarding lead's local tool: keys, fetching and decrypting reports."""
