"""Ferry's integration harness: boots Ferry in emulators and drives its serial console."""
