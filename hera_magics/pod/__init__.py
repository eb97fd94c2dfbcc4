"""The pod contract: what a generated task and whatever runs it (Argo, or the local engine) agree on.

``contract`` holds the names (parameters, environment variables, paths, markers); both the
notebook side and the local engine import them from there and nowhere else.
"""
