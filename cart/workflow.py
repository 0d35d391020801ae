"""Explicit status pipelines: every allowed move is listed, anything else is refused."""


class IllegalTransition(Exception):
    pass


class Workflow:
    def __init__(self, name, transitions):
        self.name = name
        self.transitions = {state: frozenset(targets) for state, targets in transitions.items()}

    def allowed(self, current):
        return self.transitions.get(current, frozenset())

    def check(self, current, target):
        if target not in self.allowed(current):
            raise IllegalTransition(f"{self.name} cannot move from “{current}” to “{target}”.")
