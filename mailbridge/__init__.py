"""mailbridge: the books of a 科协 submission mailbox, kept from the mail itself."""

__version__ = "0.1.0"
