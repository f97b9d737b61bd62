"""Placeholder: the simulated data plane is being built (see issue 3)."""


class DataPlane:
    def __init__(self, speed: float):
        self.speed = speed

    def wrap(self, app):
        return app

    def start(self):
        pass

    def stop(self):
        pass
