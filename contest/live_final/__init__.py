"""The live final (现场决赛): a host-paced round run from an append-only event log."""
