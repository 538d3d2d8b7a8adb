"""One context-manager protocol for everything the harness starts (emulators, labs, hubs)."""


class StartStop:
    """`with X() as x:` calls x.start(); x.close() always runs, also when start() fails.

    Subclasses define start() and close(); close() must be safe to call on an object
    whose start() failed half-way, since that is when the teardown matters most.
    """

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
