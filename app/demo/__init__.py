"""The demo: a made-up county (roster.csv, chats.csv), seeded by seed.py, served with the /sandbox
chat simulator (simulator.py, sandbox.html) by run.py — `gridline demo`, `make run`."""
