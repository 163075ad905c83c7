"""The mail kit: what every generator of test, benchmark and demo mail shares (not shipped in the wheel).

Mail is written byte by byte on purpose: it must carry the quirks of the clients that really sent
it (../shared/FIELD-NOTES.md), which Python's `email` package would "fix" when re-encoding.

- `mime`: encoded-words (RFC 2047), RFC 2231 parameters, base64 and quoted-printable bodies,
  header blocks and multipart assembly, with CRLF line ends (the wire form; IMAP APPEND needs it).
- `files`: real attachments: .docx built by python-docx with pinned zip timestamps, .docm,
  a zip bomb, a one-page Chinese PDF, an OLE2 stand-in for .doc, .xlsx.
- `images`: PNG and baseline JPEG written without PIL.
- `demo`: writes the bundled demo mailbox `mailbridge/demo/mail/*.eml` and `roster.csv`.

Users: tests/ (pytest puts the repository root on sys.path, see pyproject), bench/ (its scripts
put the root on sys.path) and `python -m mailkit.demo`.
"""
