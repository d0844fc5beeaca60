"""`python -m etl.cli`: the crowdaudit command without its console script."""

from etl.cli import main

main()
