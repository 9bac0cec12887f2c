"""Course tools: graded exercises (nbgrader format), student/solution editions, grading, a rendered site.

``assignments`` reads master notebooks and writes editions; ``grading`` grades a folder of submissions;
``render`` executes the notebooks and writes a static HTML course. See docs/course.md.
"""
