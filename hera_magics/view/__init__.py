"""The live status view of a workflow, in parts that are tested apart:

* pure, no IPython, no requests, no ipywidgets:

  * :mod:`.render` — the table, header, notices, log panel and task details as HTML and text;
  * :mod:`.graph` — the workflow as a graph to draw (spec + status; a map is one node);
  * :mod:`.layout` — the layered layout of that graph;
  * :mod:`.svg` — the graph, progress bars and timeline as SVG/HTML;
  * :mod:`.patches` — a rendered view as named parts, and which parts changed;
  * :mod:`.page` — the whole view as one page of parts, the dry run's picture, and the text
    table (``status_text``: ``%argo_status --no-widget``);

* :mod:`.poller` — the background poll loop, its back-off, its reaction to server errors and the
  state it keeps (no ipywidgets);
* :mod:`.live` — the anywidget that shows a page and receives only its changed parts
  (``live.js`` is its front end);
* :mod:`.widget` — ``StatusView``: the widgets, their buttons, clicks, display handles and the
  HTML/text fallback for front ends without widgets;
* :mod:`.source` — ``RunSource``: what a ``WorkflowRun``'s view polls (its client, with the
  state kept on disk behind it once the server forgot the run).

Nothing is imported here, so ``hera_magics.view.render`` can be used without the rest.
"""
