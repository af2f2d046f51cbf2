"""The domain: intake, classification, routing, deadlines, wording, ledger. No WeChat in here."""
