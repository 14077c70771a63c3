"""Reading runs after the fact: comparing two runs and the self-contained HTML report."""
