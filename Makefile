# Shortcuts for make users; make.py does the work and needs only Python.
.PHONY: run test lock lint

run:
	python3 make.py run

test:
	python3 make.py test

lock:
	python3 make.py lock

lint:
	.venv/bin/ruff check src tests make.py bench && .venv/bin/ruff format --check src tests make.py bench && .venv/bin/mypy
