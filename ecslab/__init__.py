"""ecslab: the helper library behind the Amazon ECS course notebooks."""

__version__ = "0.1.0"
