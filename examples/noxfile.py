# examples/noxfile.py  (run it: nox -f examples/noxfile.py)
import nox


@nox.session(reuse_venv=True)
def tests(session):
    session.chdir("..")  # the project, beside this file
    session.install(".", "boto3", "pytest")
    session.run("pytest", "examples/test_readme.py", "examples/test_marker.py")
