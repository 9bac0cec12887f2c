"""``medganbench course``: build the student/solution editions, grade submissions, render the course."""

from __future__ import annotations

import sys


def _build(args) -> int:
    from medganbench.course.assignments import build

    result = build(args.notebooks, args.out)
    n_q = sum(len(q) for q in result.values())
    points = sum(x.points for q in result.values() for x in q)
    print(f"wrote {args.out}/student, {args.out}/solutions and {args.out}/autograder: {len(result)} notebooks, "
          f"{n_q} graded questions, {points:g} points")
    return 0


def _grade(args) -> int:
    from medganbench.course.grading import grade_folder

    rows = grade_folder(args.submissions, args.key, args.out, timeout=args.timeout,
                        progress=lambda line: print(line, file=sys.stderr))
    print(f"wrote {args.out} ({len(rows)} students) and its _feedback.csv")
    return 0


def _render(args) -> int:
    from medganbench.course.render import render_course

    index = render_course(args.notebooks, args.out, smoke=args.smoke, timeout=args.timeout,
                          progress=lambda line: print(line, file=sys.stderr))
    print(f"wrote {index}")
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("course", help="course labs: build editions, grade submissions, render the course")
    csub = p.add_subparsers(dest="course_command", metavar="ACTION")
    csub.required = True

    b = csub.add_parser("build", help="write DIR/student, DIR/solutions and DIR/autograder from the masters")
    b.add_argument("--notebooks", default="notebooks", help="folder of master notebooks (default: notebooks)")
    b.add_argument("--out", required=True, help="output folder (new, or an earlier build)")
    b.set_defaults(func=_build)

    g = csub.add_parser("grade", help="grade SUBMISSIONS/<student>/... notebooks; one CSV row per student")
    g.add_argument("submissions", help="folder with one sub-folder per student")
    g.add_argument("--key", default="notebooks",
                   help="master notebooks with hidden tests: notebooks/ or a build's autograder/ folder")
    g.add_argument("--out", required=True, help="CSV file to write (e.g. grades.csv)")
    g.add_argument("--timeout", type=float, default=300, help="seconds per cell (default 300)")
    g.set_defaults(func=_grade)

    r = csub.add_parser("render", help="execute the notebooks and write a static HTML course")
    r.add_argument("--notebooks", default="notebooks", help="folder of master notebooks (default: notebooks)")
    r.add_argument("--out", required=True, help="output folder for the site")
    r.add_argument("--smoke", action="store_true", help="MEDGANBENCH_SMOKE=1: seconds per notebook")
    r.add_argument("--timeout", type=float, default=1800, help="seconds per cell (default 1800)")
    r.set_defaults(func=_render)
