"""The live status view of a workflow, in three parts that are tested apart:

* :mod:`.render` — pure rendering of the table, header, notices and log panel as HTML and text
  (no IPython, no requests, no ipywidgets);
* :mod:`.poller` — the background poll loop, its back-off, its reaction to server errors and the
  state it keeps (no ipywidgets);
* :mod:`.widget` — ``StatusView``: the ipywidgets, their buttons, display handles and the
  HTML/text fallback for front ends without widgets.

Nothing is imported here, so ``hera_magics.view.render`` can be used without the rest.
"""
