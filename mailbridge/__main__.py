"""`python -m mailbridge` runs the CLI."""
from mailbridge.cli import main

main()
