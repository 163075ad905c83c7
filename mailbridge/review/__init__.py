"""Review and adoption: which group reviews a submission, and the one place decisions are recorded."""
