"""Sources of raw mail: IMAP mailboxes, and local .eml files, Maildir folders and mbox files.

Imports: ledger (leases, folder state) and the base modules. A source hands mail to a `sink.Sink`
(the pipeline implements it); it never imports the pipeline.
"""
