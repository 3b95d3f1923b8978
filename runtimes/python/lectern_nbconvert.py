"""Lectern's nbconvert launcher: runs ``jupyter nbconvert`` with a ``python3`` kernel that is
this very interpreter (the content's environment), not whatever kernelspec the system has
(Debian's /usr/share/jupyter/kernels/python3 names /usr/bin/python3, which cannot see a venv's
packages). ``main(argv)`` takes nbconvert's arguments.
"""
import json
import os
import shutil
import sys
import tempfile


def main(argv):
    # nbconvert itself should not import from the bundle (a notebook's `traitlets.py` or the
    # like); the kernel still starts in the notebook's directory.
    cwd = os.getcwd()
    sys.path[:] = [p for p in sys.path if p not in ("", ".", cwd)]
    data = tempfile.mkdtemp(prefix="lectern-kernel-")
    try:
        spec_dir = os.path.join(data, "kernels", "python3")
        os.makedirs(spec_dir)
        with open(os.path.join(spec_dir, "kernel.json"), "w") as f:
            json.dump(
                {
                    "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                    "display_name": "Python 3",
                    "language": "python",
                },
                f,
            )
        # Connection files and IPython's profile in the same private place: HOME may be shared
        # with other content or not writable at all.
        os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(data, "runtime")
        os.environ.setdefault("IPYTHONDIR", os.path.join(data, "ipython"))
        # JUPYTER_PATH comes before the user, environment and system data directories.
        previous = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = data + (os.pathsep + previous if previous else "")
        try:
            from nbconvert.nbconvertapp import main as nbconvert_main
        except ImportError:
            sys.stderr.write(
                "Lectern: nbconvert is not installed for %s. Install the Debian packages "
                "jupyter-nbconvert and python3-ipykernel, or add nbconvert and ipykernel to "
                "the bundle's requirements.\n" % sys.executable
            )
            return 1
        sys.argv = ["jupyter-nbconvert"] + list(argv)
        nbconvert_main()
        return 0
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
