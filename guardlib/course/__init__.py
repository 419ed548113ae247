"""The course's own helpers, used by the notebooks and ``course.py``; not for production code.

* :mod:`guardlib.course.exercises` -- the exercise checks, one module per topic;
* :mod:`guardlib.course.verdict` and :mod:`guardlib.course.panel` -- a check's verdict and
  the ipywidgets panel (or plain text) that shows it;
* :mod:`guardlib.course.progress` -- chapter 00's progress view, read from the saved chapters;
* :mod:`guardlib.course.doctor` -- ``guardlib doctor``: is this machine ready for the course?

They sit above the library and the offline cloud (they may import both) and below the
command; nothing in the library imports them.
"""
