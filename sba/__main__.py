from sba.cli import run

run()
