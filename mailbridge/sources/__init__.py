"""Sources of raw mail: IMAP mailboxes, and local .eml files, Maildir folders and mbox files."""
